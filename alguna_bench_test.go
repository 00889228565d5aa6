package alguna

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkCreateAccount measures the SDK's per-call overhead: Accounts.Create
// against the same local server as a hand-written net/http + encoding/json
// request that sends the same headers and body and decodes the same answer.
func BenchmarkCreateAccount(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, guideAccountResponse)
	}))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	params := &AccountCreateParams{Name: "Acme Corp", Email: "billing@acme.com", Alias: "your-internal-id-123"}
	ctx := context.Background()

	b.Run("sdk", func(b *testing.B) {
		c, err := NewClient(testKey, WithBaseURL(srv.URL), WithHTTPClient(hc))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			acc, err := c.Accounts.Create(ctx, params)
			if err != nil || acc.ID != "acc_abc123" {
				b.Fatal(acc, err)
			}
		}
	})

	b.Run("nethttp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			acc, err := createByHand(ctx, hc, srv.URL, params)
			if err != nil || acc.ID != "acc_abc123" {
				b.Fatal(acc, err)
			}
		}
	})
}

// createByHand is what a careful caller would write without the SDK.
func createByHand(ctx context.Context, hc *http.Client, base string, p *AccountCreateParams) (*Account, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/accounts", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "hand-written/1.0")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "bench-key")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var acc Account
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil {
		return nil, err
	}
	return &acc, nil
}
