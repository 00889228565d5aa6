package alguna_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
)

// A Batcher with a spool: accepted events survive a crash of the process
// and are sent by the next Batcher on the same directory.
func ExampleBatcherOptions_spool() {
	fake := algunatest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-123"}); err != nil {
		log.Fatal(err)
	}
	spoolDir, err := os.MkdirTemp("", "alguna-spool")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(spoolDir) }()

	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{
		SpoolDir: spoolDir, // one per process, on a disk that outlives it
		OnFailure: func(events []alguna.Event, err error) {
			log.Printf("%d usage events not ingested: %v", len(events), err)
		},
	})
	if err != nil {
		log.Fatal(err) // alguna.ErrSpoolLocked if another Batcher uses spoolDir
	}
	// What an earlier process accepted but did not deliver is sent first.
	fmt.Println("replayed from the spool:", batcher.Stats().Replayed)

	// Enqueue returns once the event is fsynced in spoolDir.
	err = batcher.Enqueue(ctx, alguna.Event{Account: "user-123", EventName: "api_call"})
	if err != nil {
		log.Print(err)
	}

	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := batcher.Close(closeCtx); err != nil {
		log.Printf("usage events: %v", err)
	}
	fmt.Println("events at the fake:", len(fake.Events()))
	fmt.Println("spooled bytes after Close:", batcher.Stats().SpooledBytes)
	// Output:
	// replayed from the spool: 0
	// events at the fake: 1
	// spooled bytes after Close: 0
}
