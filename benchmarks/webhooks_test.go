package benchmarks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/alguna/alguna-go"
)

// delivery is one signed webhook request: what every verifier is given.
type delivery struct {
	secret string
	header http.Header
	body   []byte
}

// newDelivery signs body as Alguna would, now, under a fresh secret. The
// signature is computed here by hand from the Standard Webhooks scheme
// (HMAC-SHA256 of "id.timestamp.body", base64), not by any library compared.
func newDelivery(b testing.TB, body []byte) delivery {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		b.Fatal(err)
	}
	id := "msg_2mSn8vXRbMqZ3kT9pQ1wYcLfHd"
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return delivery{secret: "whsec_" + base64.StdEncoding.EncodeToString(key), header: h, body: body}
}

const webhookType = "invoice.paid"

// webhookBody returns an invoice.paid envelope of exactly size bytes: an
// invoice with as many line items as fit, padded with a memo.
func webhookBody(size int) []byte {
	type line struct {
		ID          string `json:"id"`
		Description string `json:"description"`
		Quantity    string `json:"quantity"`
		Amount      string `json:"amount"`
	}
	type invoice struct {
		ID        string `json:"id"`
		AccountID string `json:"accountId"`
		Status    string `json:"status"`
		Currency  string `json:"currency"`
		Total     string `json:"total"`
		Lines     []line `json:"lines"`
		Memo      string `json:"memo"`
	}
	type envelope struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      invoice   `json:"data"`
	}
	env := envelope{
		Type:      webhookType,
		Timestamp: time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC),
		Data:      invoice{ID: "inv_8f2k", AccountID: "acc_abc123", Status: "paid", Currency: "USD", Total: "1290.00"},
	}
	encode := func() []byte {
		out, err := json.Marshal(env)
		if err != nil {
			panic(err)
		}
		return out
	}
	for {
		env.Data.Lines = append(env.Data.Lines, line{
			ID: fmt.Sprintf("li_%06d", len(env.Data.Lines)), Description: "API calls, tier 2",
			Quantity: "15000", Amount: "12.90",
		})
		if len(encode()) > size {
			env.Data.Lines = env.Data.Lines[:len(env.Data.Lines)-1]
			break
		}
	}
	env.Data.Memo = strings.Repeat("x", size-len(encode()))
	out := encode()
	if len(out) != size {
		panic(fmt.Sprintf("webhook body is %d bytes, want %d", len(out), size))
	}
	return out
}

// envelope is what a receiver using a peer library would decode itself to
// get what alguna-go's Verify returns: the type, the time and the raw data.
type envelope struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

func decodeEnvelope(body []byte) error {
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return err
	}
	if e.Type != webhookType {
		return fmt.Errorf("envelope type %q", e.Type)
	}
	return nil
}

// BenchmarkVerify verifies one signed delivery per op. The timestamp is
// fresh (signed when the sub-benchmark starts), so every library runs its
// full check including the 5-minute tolerance. alguna-go's Verify also
// decodes the envelope; the "+decode" rows add the same decoding to the
// peers for a like-for-like comparison. Every op fails the benchmark unless
// verification succeeded.
func BenchmarkVerify(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}} {
		body := webhookBody(size.bytes)
		b.Run("size="+size.name, func(b *testing.B) {
			b.Run("lib=alguna", func(b *testing.B) {
				d := newDelivery(b, body)
				v, err := alguna.NewWebhookVerifier(d.secret)
				if err != nil {
					b.Fatal(err)
				}
				runVerify(b, func() error {
					e, err := v.Verify(d.header, d.body)
					if err == nil && e.Type != webhookType {
						err = fmt.Errorf("event type %q", e.Type)
					}
					return err
				})
			})
			for _, decode := range []bool{false, true} {
				suffix := ""
				if decode {
					suffix = "+decode"
				}
				b.Run("lib=standardwebhooks"+suffix, func(b *testing.B) {
					d := newDelivery(b, body)
					wh, err := standardwebhooks.NewWebhook(d.secret)
					if err != nil {
						b.Fatal(err)
					}
					runVerify(b, func() error {
						if err := wh.Verify(d.body, d.header); err != nil || !decode {
							return err
						}
						return decodeEnvelope(d.body)
					})
				})
				b.Run("lib=svix"+suffix, func(b *testing.B) {
					d := newDelivery(b, body)
					wh, err := svix.NewWebhook(d.secret)
					if err != nil {
						b.Fatal(err)
					}
					runVerify(b, func() error {
						if err := wh.Verify(d.body, d.header); err != nil || !decode {
							return err
						}
						return decodeEnvelope(d.body)
					})
				})
			}
		})
	}
}

// runVerify times verify and fails the benchmark on its first error, so that
// a verifier that refused the delivery cannot look fast.
func runVerify(b *testing.B, verify func() error) {
	b.ReportAllocs()
	for b.Loop() {
		if err := verify(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifiersRejectTampering checks that the deliveries built here are
// what the benchmarks claim: every verifier accepts them, and rejects them
// once a byte of the body changes.
func TestVerifiersRejectTampering(t *testing.T) {
	body := webhookBody(1 << 10)
	d := newDelivery(t, body)
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] = 'y'

	v, err := alguna.NewWebhookVerifier(d.secret)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := standardwebhooks.NewWebhook(d.secret)
	if err != nil {
		t.Fatal(err)
	}
	sx, err := svix.NewWebhook(d.secret)
	if err != nil {
		t.Fatal(err)
	}
	verifiers := map[string]func([]byte) error{
		"alguna":           func(b []byte) error { _, err := v.Verify(d.header, b); return err },
		"standardwebhooks": func(b []byte) error { return sw.Verify(b, d.header) },
		"svix":             func(b []byte) error { return sx.Verify(b, d.header) },
	}
	for name, verify := range verifiers {
		if err := verify(body); err != nil {
			t.Errorf("%s refused a valid delivery: %v", name, err)
		}
		if err := verify(tampered); err == nil {
			t.Errorf("%s accepted a tampered body", name)
		}
	}
	if err := decodeEnvelope(body); err != nil {
		t.Error(err)
	}
}
