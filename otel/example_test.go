package algunaotel_test

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/shopspring/decimal"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/algunatest"
	algunaotel "github.com/alguna/alguna-go/otel"
)

// With the program's OpenTelemetry set up globally, one option traces every
// call of a client:
//
//	client, err := alguna.NewClient(os.Getenv("ALGUNA_API_KEY"), algunaotel.WithTelemetry())
//
// Here the spans go to memory, to be printed, and the client talks to the
// bundled fake of Alguna.
func ExampleWithTelemetry() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	srv := algunatest.NewServer()
	defer srv.Close()

	client, err := alguna.NewClient(srv.APIKey, alguna.WithBaseURL(srv.URL),
		algunaotel.WithTelemetry(algunaotel.WithTracerProvider(tp)))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	account, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp"})
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Credits.Grant(ctx, account.ID, &alguna.CreditGrantParams{
		CreditType: alguna.CreditTypeUnits,
		Amount:     decimal.NewFromInt(50),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Accounts.Get(ctx, "acc_missing")
	fmt.Println(err != nil)

	for _, s := range spans.Ended() {
		fmt.Println(s.SpanKind(), s.Name(), s.Status().Code)
	}
	// Output:
	// true
	// client POST /accounts Unset
	// client POST /accounts/{id}/credits/grants Unset
	// client GET /accounts/{id} Error
}

func ExampleRegisterBatcher() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	srv := algunatest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()
	if _, err := client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Acme Corp", Alias: "user-1"}); err != nil {
		log.Fatal(err)
	}

	batcher, err := client.Events.NewBatcher(alguna.BatcherOptions{})
	if err != nil {
		log.Fatal(err)
	}
	reg, err := algunaotel.RegisterBatcher(batcher, "usage", algunaotel.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = reg.Unregister() }()
	defer func() { _ = batcher.Close(ctx) }()

	for range 3 {
		if err := batcher.Enqueue(ctx, alguna.Event{Account: "user-1", EventName: "api_call"}); err != nil {
			log.Fatal(err)
		}
	}
	if err := batcher.Flush(ctx); err != nil {
		log.Fatal(err)
	}

	// What an exporter would receive at its next collection.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok && sum.DataPoints[0].Value != 0 {
			name, _ := sum.DataPoints[0].Attributes.Value(algunaotel.BatcherNameKey)
			lines = append(lines, fmt.Sprintf("%s{%s=%s} %d", m.Name, algunaotel.BatcherNameKey, name.AsString(), sum.DataPoints[0].Value))
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// alguna.batcher.events.enqueued{alguna.batcher.name=usage} 3
	// alguna.batcher.events.ingested{alguna.batcher.name=usage} 3
}
