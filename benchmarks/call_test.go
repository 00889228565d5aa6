package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alguna/alguna-go"
	"github.com/alguna/alguna-go/benchmarks/internal/sink"
)

// BenchmarkCreateAccount makes one POST /accounts per op against the Alguna
// sink, through Accounts.Create and through a hand-written net/http +
// encoding/json request that puts the same bytes on the wire: the same JSON
// body and the same headers, a random Idempotency-Key included. The
// difference is the SDK's per-call overhead. Each op checks the answer, and
// the sink must have answered exactly b.N requests (no hidden retries).
func BenchmarkCreateAccount(b *testing.B) {
	b.Run("client=alguna", benchCreateAlguna)
	b.Run("client=hand-written", benchCreateHand)
}

var accountParams = alguna.AccountCreateParams{Name: "Acme Inc", Email: "billing@acme.example", Alias: "cus_4821"}

// runCalls times b.N sequential calls of call and checks the sink's count.
func runCalls(b *testing.B, call func(context.Context) (id, name string, err error)) {
	ctx := context.Background()
	// One call outside the timer opens the connection both clients reuse.
	if _, _, err := call(ctx); err != nil {
		b.Fatal(err)
	}
	before := readSink(b, sinks.Alguna)
	cpu := sink.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		id, name, err := call(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if id == "" || name != accountParams.Name {
			b.Fatalf("answer has id %q and name %q", id, name)
		}
	}
	b.StopTimer()
	cpu = sink.ProcessCPU() - cpu
	got := readSink(b, sinks.Alguna).Sub(before)
	if got.Requests != int64(b.N) {
		b.Fatalf("sink answered %d requests, want %d", got.Requests, b.N)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "client-cpu-ns/op")
	b.ReportMetric(float64(got.CPU.Nanoseconds())/float64(b.N), "sink-cpu-ns/op")
}

func benchCreateAlguna(b *testing.B) {
	c, err := alguna.NewClient("k_bench",
		alguna.WithBaseURL(sinks.Alguna),
		alguna.WithHTTPClient(&http.Client{Transport: newTransport(), Timeout: 30 * time.Second}))
	if err != nil {
		b.Fatal(err)
	}
	runCalls(b, func(ctx context.Context) (string, string, error) {
		a, err := c.Accounts.Create(ctx, &accountParams)
		if err != nil {
			return "", "", err
		}
		return a.ID, a.Name, nil
	})
}

// handAccount is what a hand-written client would declare for the answer.
type handAccount struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email,omitempty"`
	Alias     string    `json:"alias,omitempty"`
	Currency  string    `json:"currency,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func benchCreateHand(b *testing.B) {
	hc := &http.Client{Transport: newTransport(), Timeout: 30 * time.Second}
	url := sinks.Alguna + "/accounts"
	userAgent := "alguna-go/" + alguna.Version
	runCalls(b, func(ctx context.Context) (string, string, error) {
		body, err := json.Marshal(&accountParams)
		if err != nil {
			return "", "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return "", "", err
		}
		req.Header.Set("Authorization", "Bearer k_bench")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", uuid.NewString())
		resp, err := hc.Do(req)
		if err != nil {
			return "", "", err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode/100 != 2 {
			return "", "", fmt.Errorf("POST /accounts: %s", resp.Status)
		}
		var a handAccount
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			return "", "", err
		}
		return a.ID, a.Name, nil
	})
}
