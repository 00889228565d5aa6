package alguna_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// Ingest sends events at once, which suits scripts and backfills; steady
// traffic goes through a Batcher.
func ExampleEventsService_Ingest() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}

	// Step 6 of the guide: usage, by your alias for the account. The
	// uniqueId is the event's idempotency key: derive it from your own
	// record of the usage.
	events := []alguna.Event{
		{UniqueID: "run-1001", Account: "user-123", EventName: "api_call", Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1500}},
		{UniqueID: "run-1002", Account: "user-123", EventName: "api_call", Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 700}},
		{UniqueID: "run-1003", Account: "user-999", EventName: "api_call"}, // no such account
	}
	result, err := client.Events.Ingest(ctx, events)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ingested:", result.Ingested)
	fmt.Println("failed:", result.Failed)

	// Sending the same slice again is safe: Alguna counts a uniqueId once.
	if _, err := client.Events.Ingest(ctx, events); err != nil {
		log.Fatal(err)
	}
	fmt.Println("events at the fake:", len(fake.Events()))

	// An invalid event stops the whole call before anything is sent.
	_, err = client.Events.Ingest(ctx, []alguna.Event{{Account: "user-123"}})
	var invalid *alguna.ValidationError
	if errors.As(err, &invalid) {
		fmt.Println("refused:", invalid.Problems)
	}
	// Output:
	// ingested: [run-1001 run-1002]
	// failed: [run-1003]
	// events at the fake: 2
	// refused: [events[0]: eventName is required]
}

func ExampleEventsService_NewBatcher() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}

	// One Batcher per process, created at start-up.
	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{
		OnFailure: func(events []alguna.Event, err error) {
			// Every accepted event that will not be ingested arrives here,
			// exactly once, with the reason: keep it to send again later.
			log.Printf("%d usage events not ingested: %v", len(events), err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	// In a request handler: record the usage and move on.
	err = batcher.Enqueue(ctx, alguna.Event{
		Account:    "user-123", // the Alguna account id, or your alias for it
		EventName:  "api_call",
		Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1500},
	})
	if err != nil {
		log.Print(err) // a *alguna.ValidationError: the event was not queued
	}

	// On shutdown: deliver what is queued, retrying for up to 30 seconds.
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := batcher.Close(closeCtx); err != nil {
		log.Printf("usage events: %v", err)
	}

	st := batcher.Stats()
	fmt.Println("enqueued:", st.Enqueued, "ingested:", st.Ingested, "failed:", st.Failed)
	fmt.Println("events at the fake:", len(fake.Events()))
	// Output:
	// enqueued: 1 ingested: 1 failed: 0
	// events at the fake: 1
}

// Enqueue validates at once: a bad event is an error for the caller, never
// a loss discovered later.
func ExampleBatcher_Enqueue() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}
	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := batcher.Close(closeCtx); err != nil {
			log.Print(err)
		}
	}()

	// A metered action: Enqueue gives the event its uniqueId and timestamp
	// now, so that every retry sends the same ones.
	err = batcher.Enqueue(ctx, alguna.Event{
		Account:    "user-123",
		EventName:  "api_call",
		Properties: map[string]any{"endpoint": "/v1/analyze", "tokens": 1500},
	})
	fmt.Println("queued:", err == nil)

	// Property values are strings and numbers, so a bool is refused (send
	// "true" or 1) and the event is not queued.
	err = batcher.Enqueue(ctx, alguna.Event{
		Account:    "user-123",
		EventName:  "api_call",
		Properties: map[string]any{"isTrial": true},
	})
	var invalid *alguna.ValidationError
	if errors.As(err, &invalid) {
		fmt.Println("refused:", invalid.Problems)
	}
	fmt.Println("enqueued:", batcher.Stats().Enqueued)
	// Output:
	// queued: true
	// refused: [property "isTrial": bool values are not accepted; send "true" or 1]
	// enqueued: 1
}

// EnqueueMany queues a slice all or nothing, for usage recorded in bulk,
// such as the rows of a finished job.
func ExampleBatcher_EnqueueMany() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}
	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{})
	if err != nil {
		log.Fatal(err)
	}

	job := []alguna.Event{
		{UniqueID: "job-42-step-1", Account: "user-123", EventName: "minutes", Properties: map[string]any{"minutes": 12}},
		{UniqueID: "job-42-step-2", Account: "user-123", EventName: "minutes", Properties: map[string]any{"minutes": 7}},
		{UniqueID: "job-42-step-3", Account: "", EventName: "minutes", Properties: map[string]any{"minutes": 3}},
	}
	err = batcher.EnqueueMany(ctx, job)
	var invalid *alguna.ValidationError
	if errors.As(err, &invalid) {
		fmt.Println("refused:", invalid.Problems)
	}
	fmt.Println("enqueued:", batcher.Stats().Enqueued) // none of the three

	job[2].Account = "user-123"
	if err := batcher.EnqueueMany(ctx, job); err != nil {
		log.Fatal(err)
	}

	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := batcher.Close(closeCtx); err != nil {
		log.Print(err)
	}
	fmt.Println("events at the fake:", len(fake.Events()))
	// Output:
	// refused: [events[2]: account is required]
	// enqueued: 0
	// events at the fake: 3
}

// Flush waits until everything enqueued so far is delivered, for the points
// where usage must have reached Alguna before going on: the end of a batch
// job, or before a test reads a balance.
func ExampleBatcher_Flush() {
	fake := algunatest.NewServer()
	defer fake.Close()
	fake.SetMetric(algunatest.Metric{EventName: "api_call"})
	client := fake.Client()
	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"})
	if err != nil {
		log.Fatal(err)
	}
	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{FlushInterval: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := batcher.Close(closeCtx); err != nil {
			log.Print(err)
		}
	}()

	for range 5 {
		if err := batcher.Enqueue(ctx, alguna.Event{Account: "user-123", EventName: "api_call"}); err != nil {
			log.Fatal(err)
		}
	}
	// Without Flush these would wait for the minute's FlushInterval.
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := batcher.Flush(flushCtx); err != nil {
		log.Fatal(err)
	}
	st := batcher.Stats()
	fmt.Println("ingested:", st.Ingested, "pending:", st.Pending)
	fmt.Println("units used:", fake.Usage(account.ID, alguna.CreditTypeUnits))
	// Output:
	// ingested: 5 pending: 0
	// units used: 5
}

// Close with a deadline: on shutdown the Batcher keeps retrying until the
// deadline, then reports every event it could not deliver, so that none is
// lost silently.
func ExampleBatcher_Close() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}

	var lost []alguna.Event
	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{
		RetryWaitMin: 10 * time.Millisecond,
		RetryWaitMax: 50 * time.Millisecond,
		OnFailure: func(events []alguna.Event, err error) {
			// Keep them, in a file or a table, to send after the restart.
			lost = append(lost, events...)
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Alguna is down for longer than the shutdown may take.
	fake.SetFaults(algunatest.Faults{ErrorRate: 1})
	for range 3 {
		if err := batcher.Enqueue(ctx, alguna.Event{Account: "user-123", EventName: "api_call"}); err != nil {
			log.Fatal(err)
		}
	}

	closeCtx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = batcher.Close(closeCtx)
	fmt.Println(err != nil, errors.Is(err, context.DeadlineExceeded))
	// OnFailure has heard of every loss by the time Close returns.
	fmt.Println("kept for later:", len(lost))
	st := batcher.Stats()
	fmt.Println("enqueued:", st.Enqueued, "ingested:", st.Ingested, "failed:", st.Failed)
	// Output:
	// true true
	// kept for later: 3
	// enqueued: 3 ingested: 0 failed: 3
}

// After Close the counters add up: every event accepted was either ingested
// or reported. Export them as metrics to watch billing's health.
func ExampleBatcher_Stats() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}
	var rejected []alguna.Event
	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{
		OnFailure: func(events []alguna.Event, err error) {
			// Alguna named these in its "failed" list: sending them again
			// would fail again, so they go to someone who can fix them.
			if errors.Is(err, alguna.ErrEventRejected) {
				rejected = append(rejected, events...)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	for _, account := range []string{"user-123", "user-123", "user-gone"} {
		if err := batcher.Enqueue(ctx, alguna.Event{Account: account, EventName: "api_call"}); err != nil {
			log.Fatal(err)
		}
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := batcher.Close(closeCtx); err != nil {
		fmt.Println(err)
	}

	st := batcher.Stats()
	fmt.Println("enqueued:", st.Enqueued, "ingested:", st.Ingested, "failed:", st.Failed, "pending:", st.Pending)
	fmt.Println("all accounted for:", st.Enqueued == st.Ingested+st.Failed)
	fmt.Println("rejected:", rejected[0].Account)
	// Output:
	// alguna: batcher closed with 1 of 3 events not ingested
	// enqueued: 3 ingested: 2 failed: 1 pending: 0
	// all accounted for: true
	// rejected: user-gone
}

// Alguna takes 1000 usage events a second for your account, and answers 429
// past that. A Batcher paced below the limit is almost never refused; with
// several replicas, each gets its share of the account's limit.
func ExampleBatcherOptions_pacing() {
	fake := algunatest.NewServer(algunatest.WithRateLimit(algunatest.RateLimit{EventsPerSecond: 1000}))
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}

	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{
		MaxEventsPerSecond: 1000 / 4, // this replica's share: four replicas send for one Alguna account
	})
	if err != nil {
		log.Fatal(err)
	}
	for range 300 {
		if err := batcher.Enqueue(ctx, alguna.Event{Account: "user-123", EventName: "api_call"}); err != nil {
			log.Fatal(err)
		}
	}
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := batcher.Close(closeCtx); err != nil {
		log.Print(err)
	}
	refused := 0
	for _, r := range fake.Requests() {
		if r.Status == http.StatusTooManyRequests {
			refused++
		}
	}
	fmt.Println("events:", len(fake.Events()), "refused requests:", refused)
	// Output: events: 300 refused requests: 0
}
