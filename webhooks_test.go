package alguna

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go/internal/standardwebhooks"
)

// The published vector of the Standard Webhooks reference libraries.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = int64(1614265330)
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	// otherSecret stands for a second endpoint secret (rotation, wrong key).
	otherSecret = "whsec_dGhlIG90aGVyIHNlY3JldCwgdXNlZCBmb3Igcm90YXRpb24="

	envelopeBody = `{"type":"account.credits.balance_depleted","timestamp":"2025-03-03T17:06:07.473879Z","data":{"accountId":"acc_abc123","amount":"0","type":"units"}}`
)

func clockAt(unix int64) func() time.Time {
	return func() time.Time { return time.Unix(unix, 0) }
}

func mustKey(t testing.TB, secret string) []byte {
	t.Helper()
	key, err := standardwebhooks.ParseSecret(secret)
	require.NoError(t, err)
	return key
}

// signedHeader returns the three webhook-* headers for body signed with
// secret at unix.
func signedHeader(t testing.TB, secret, id string, unix int64, body string) http.Header {
	t.Helper()
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(unix, 10))
	h.Set("webhook-signature", standardwebhooks.Sign(mustKey(t, secret), id, unix, []byte(body)))
	return h
}

func vectorHeader() http.Header {
	h := http.Header{}
	h.Set("webhook-id", vectorID)
	h.Set("webhook-timestamp", strconv.FormatInt(vectorTS, 10))
	h.Set("webhook-signature", vectorSig)
	return h
}

func with(h http.Header, key, value string) http.Header {
	h = h.Clone()
	h.Set(key, value)
	return h
}

func without(h http.Header, key string) http.Header {
	h = h.Clone()
	h.Del(key)
	return h
}

func TestVerify(t *testing.T) {
	now := vectorTS
	good := signedHeader(t, vectorSecret, vectorID, now, envelopeBody)
	goodSig := good.Get("webhook-signature")
	otherSig := signedHeader(t, otherSecret, vectorID, now, envelopeBody).Get("webhook-signature")

	svix := http.Header{}
	svix.Set("svix-id", vectorID)
	svix.Set("svix-timestamp", strconv.FormatInt(now, 10))
	svix.Set("svix-signature", goodSig)

	lower := http.Header{
		"webhook-id":        {vectorID},
		"webhook-timestamp": {strconv.FormatInt(now, 10)},
		"webhook-signature": {goodSig},
	}

	at := func(offset int64) http.Header {
		return signedHeader(t, vectorSecret, vectorID, now+offset, envelopeBody)
	}

	tests := []struct {
		name    string
		secret  string
		opts    []WebhookOption
		header  http.Header
		body    string
		clock   func() time.Time // default: clockAt(now)
		wantErr error
	}{
		// The known vector's body is not an envelope, so a passing signature
		// shows as ErrWebhookPayload: the check after the signature.
		{name: "known vector signature", header: vectorHeader(), body: vectorBody, wantErr: ErrWebhookPayload},
		{name: "known vector bare secret", secret: strings.TrimPrefix(vectorSecret, "whsec_"), header: vectorHeader(), body: vectorBody, wantErr: ErrWebhookPayload},
		{name: "known vector tampered", header: vectorHeader(), body: `{"test": 2432232315}`, wantErr: ErrWebhookSignature},
		{name: "valid envelope", header: good, body: envelopeBody},
		{name: "tampered body", header: good, body: strings.Replace(envelopeBody, `"0"`, `"1"`, 1), wantErr: ErrWebhookSignature},
		{name: "trailing newline", header: good, body: envelopeBody + "\n", wantErr: ErrWebhookSignature},
		{name: "re-encoded body", header: good, body: strings.ReplaceAll(envelopeBody, ",", ", "), wantErr: ErrWebhookSignature},
		{name: "other id", header: with(good, "webhook-id", "msg_other"), body: envelopeBody, wantErr: ErrWebhookSignature},
		{name: "other timestamp", header: with(good, "webhook-timestamp", strconv.FormatInt(now+1, 10)), body: envelopeBody, wantErr: ErrWebhookSignature},
		{name: "wrong secret", secret: otherSecret, header: good, body: envelopeBody, wantErr: ErrWebhookSignature},
		{name: "rotation: several signatures, second matches", header: with(good, "webhook-signature", otherSig+" "+goodSig), body: envelopeBody},
		{name: "rotation: several signatures, none matches", header: with(good, "webhook-signature", otherSig+" "+otherSig), body: envelopeBody, wantErr: ErrWebhookSignature},
		{name: "rotation: several secrets, second matches", secret: otherSecret, opts: []WebhookOption{WithWebhookSecrets(vectorSecret)}, header: good, body: envelopeBody},
		{name: "rotation: several secrets, first matches", opts: []WebhookOption{WithWebhookSecrets(otherSecret)}, header: good, body: envelopeBody},
		{name: "unknown versions skipped", header: with(good, "webhook-signature", "v2,abc v1a,"+goodSig[3:]+" "+goodSig), body: envelopeBody},
		{name: "only unknown versions", header: with(good, "webhook-signature", "v1a,"+goodSig[3:]+" v2,"+goodSig[3:]), body: envelopeBody, wantErr: ErrWebhookSignature},
		{name: "garbage signature", header: with(good, "webhook-signature", "v1,!!!! nonsense"), body: envelopeBody, wantErr: ErrWebhookSignature},
		{name: "svix headers", header: svix, body: envelopeBody},
		{name: "svix headers tampered", header: svix, body: envelopeBody + " ", wantErr: ErrWebhookSignature},
		{name: "webhook headers win over svix", header: with(with(good, "svix-id", "msg_other"), "svix-signature", otherSig), body: envelopeBody},
		{name: "lower-case header map", header: lower, body: envelopeBody},
		{name: "missing id", header: without(good, "webhook-id"), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "missing timestamp", header: without(good, "webhook-timestamp"), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "missing signature", header: without(good, "webhook-signature"), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "blank signature", header: with(good, "webhook-signature", "   "), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "no headers", header: http.Header{}, body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "svix id missing", header: without(svix, "svix-id"), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "id too long", header: with(good, "webhook-id", strings.Repeat("m", 256)), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "non-numeric timestamp", header: with(good, "webhook-timestamp", "yesterday"), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "fractional timestamp", header: with(good, "webhook-timestamp", "1614265330.5"), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "signed timestamp", header: with(good, "webhook-timestamp", "+1614265330"), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "negative timestamp", header: with(good, "webhook-timestamp", "-1614265330"), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "padded timestamp", header: with(good, "webhook-timestamp", " 1614265330"), body: envelopeBody, wantErr: ErrWebhookHeaders},
		{name: "timestamp past int64", header: with(good, "webhook-timestamp", "99999999999999999999"), body: envelopeBody, wantErr: ErrWebhookTimestamp},
		{name: "299s old accepted", header: at(-299), body: envelopeBody},
		{name: "299s ahead accepted", header: at(299), body: envelopeBody},
		{name: "300s old accepted", header: at(-300), body: envelopeBody},
		{name: "300s ahead accepted", header: at(300), body: envelopeBody},
		{name: "301s old rejected", header: at(-301), body: envelopeBody, wantErr: ErrWebhookTimestamp},
		{name: "301s ahead rejected", header: at(301), body: envelopeBody, wantErr: ErrWebhookTimestamp},
		{name: "sub-second clock", header: at(-300), body: envelopeBody, clock: func() time.Time { return time.Unix(now, 999_999_999) }},
		{name: "custom tolerance accepts 599s", opts: []WebhookOption{WithWebhookTolerance(10 * time.Minute)}, header: at(-599), body: envelopeBody},
		{name: "custom tolerance rejects 601s", opts: []WebhookOption{WithWebhookTolerance(10 * time.Minute)}, header: at(601), body: envelopeBody, wantErr: ErrWebhookTimestamp},
		{name: "short tolerance rejects 2s", opts: []WebhookOption{WithWebhookTolerance(time.Second)}, header: at(-2), body: envelopeBody, wantErr: ErrWebhookTimestamp},
		{name: "real clock rejects 2021", header: good, body: envelopeBody, clock: time.Now, wantErr: ErrWebhookTimestamp},
		// Order: the first failing check decides the error.
		{name: "headers before signature", header: with(without(good, "webhook-id"), "webhook-signature", otherSig), body: "junk", wantErr: ErrWebhookHeaders},
		{name: "timestamp before signature", header: with(at(-301), "webhook-signature", otherSig), body: "junk", wantErr: ErrWebhookTimestamp},
		{name: "signature before payload", header: with(good, "webhook-signature", otherSig), body: "junk", wantErr: ErrWebhookSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = vectorSecret
			}
			clock := tt.clock
			if clock == nil {
				clock = clockAt(now)
			}
			v, err := NewWebhookVerifier(secret, append([]WebhookOption{WithWebhookClock(clock)}, tt.opts...)...)
			require.NoError(t, err)
			e, err := v.Verify(tt.header, []byte(tt.body))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				for _, other := range []error{ErrWebhookHeaders, ErrWebhookSignature, ErrWebhookTimestamp, ErrWebhookPayload} {
					if !errors.Is(other, tt.wantErr) {
						require.False(t, errors.Is(err, other), "error %v also matches %v", err, other)
					}
				}
				require.Nil(t, e)
				return
			}
			require.NoError(t, err)
			require.Equal(t, vectorID, e.ID)
			require.Equal(t, WebhookCreditsBalanceDepleted, e.Type)
			require.Equal(t, time.Date(2025, 3, 3, 17, 6, 7, 473879000, time.UTC), e.Timestamp)
			require.JSONEq(t, `{"accountId":"acc_abc123","amount":"0","type":"units"}`, string(e.Data))
		})
	}
}

func TestVerifyPayload(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr bool
	}{
		{"not JSON", `type=invoice.paid`, true},
		{"empty", ``, true},
		{"array", `[{"type":"invoice.paid"}]`, true},
		{"null", `null`, true},
		{"string", `"invoice.paid"`, true},
		{"no type", `{"data":{}}`, true},
		{"empty type", `{"type":"","data":{}}`, true},
		{"type not a string", `{"type":5}`, true},
		{"bad timestamp", `{"type":"invoice.paid","timestamp":"yesterday"}`, true},
		{"truncated", `{"type":"invoice.paid","data":{`, true},
		{"type only", `{"type":"invoice.paid"}`, false},
		{"extra fields", `{"type":"invoice.paid","id":"evt_1","version":2,"data":{}}`, false},
		{"timestamp without fraction", `{"type":"invoice.paid","timestamp":"2024-08-03T20:26:10Z"}`, false},
		{"timestamp with offset", `{"type":"invoice.paid","timestamp":"2024-08-03T22:26:10+02:00"}`, false},
	}
	v, err := NewWebhookVerifier(vectorSecret, WithWebhookClock(clockAt(vectorTS)))
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := v.Verify(signedHeader(t, vectorSecret, vectorID, vectorTS, tt.body), []byte(tt.body))
			if tt.wantErr {
				require.ErrorIs(t, err, ErrWebhookPayload)
				return
			}
			require.NoError(t, err)
			require.Equal(t, WebhookInvoicePaid, e.Type)
		})
	}
}

func TestVerifyTimestampField(t *testing.T) {
	body := `{"type":"invoice.paid","timestamp":"2024-08-03T22:26:10+02:00","data":{}}`
	v, err := NewWebhookVerifier(vectorSecret, WithWebhookClock(clockAt(vectorTS)))
	require.NoError(t, err)
	e, err := v.Verify(signedHeader(t, vectorSecret, "msg_1", vectorTS, body), []byte(body))
	require.NoError(t, err)
	require.True(t, e.Timestamp.Equal(time.Date(2024, 8, 3, 20, 26, 10, 0, time.UTC)))
}

func TestNewWebhookVerifierErrors(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		opts   []WebhookOption
	}{
		{"empty", "", nil},
		{"prefix only", "whsec_", nil},
		{"not base64", "whsec_***", nil},
		{"bad rotation secret", vectorSecret, []WebhookOption{WithWebhookSecrets(otherSecret, "whsec_%%%")}},
		{"empty rotation secret", vectorSecret, []WebhookOption{WithWebhookSecrets("")}},
		{"zero tolerance", vectorSecret, []WebhookOption{WithWebhookTolerance(0)}},
		{"negative tolerance", vectorSecret, []WebhookOption{WithWebhookTolerance(-time.Minute)}},
		{"nil clock", vectorSecret, []WebhookOption{WithWebhookClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewWebhookVerifier(tt.secret, tt.opts...)
			require.Error(t, err)
			require.Nil(t, v)
		})
	}
}

func TestWebhookVerifierDoesNotPrintSecrets(t *testing.T) {
	v, err := NewWebhookVerifier(vectorSecret, WithWebhookSecrets(otherSecret))
	require.NoError(t, err)
	printed := fmt.Sprintf("%v %+v %#v %s", v, v, v, v)
	require.Contains(t, printed, "secrets: 2")
	for _, secret := range []string{vectorSecret, otherSecret} {
		key := mustKey(t, secret)
		for _, leak := range []string{secret[len("whsec_"):], string(key), fmt.Sprintf("%x", key), base64.StdEncoding.EncodeToString(key)} {
			require.NotContains(t, printed, leak)
		}
	}
}

func TestWebhookEventDecode(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	ptr := func(s string) *time.Time { v := ts(s); return &v }
	dec := decimal.RequireFromString

	subscription := `{"id":"ZVzWRFnt","accountId":"aBsZxlLh","name":"Enterprise Plan","status":"active","currency":"USD",
		"contractStartDate":"2024-01-01T00:00:00Z","contractEndDate":null,"activatedAt":"2024-01-01T00:00:00.123456Z",
		"createdAt":"2024-01-24T16:36:52Z","updatedAt":"2024-01-24T16:36:52.5Z","unknownField":{"nested":true}}`
	wantSubscription := &Subscription{
		ID: "ZVzWRFnt", AccountID: "aBsZxlLh", Name: "Enterprise Plan", Status: SubscriptionStatusActive, Currency: "USD",
		ContractStartDate: ptr("2024-01-01T00:00:00Z"), ActivatedAt: ptr("2024-01-01T00:00:00.123456Z"),
		CreatedAt: ts("2024-01-24T16:36:52Z"), UpdatedAt: ts("2024-01-24T16:36:52.5Z"),
	}
	invoice := `{"id":"inv_1","accountId":"acc_1","currency":"USD","description":"March","billingPeriodStart":"2025-03-01T00:00:00Z",
		"billingPeriodEnd":"2025-04-01T00:00:00Z","status":"paid","total":"200.00","createdAt":"2025-03-03T17:06:07.473879Z","updatedAt":"2025-03-03T17:06:07Z"}`
	wantInvoice := &Invoice{
		ID: "inv_1", AccountID: "acc_1", Currency: "USD", Description: "March",
		BillingPeriodStart: ptr("2025-03-01T00:00:00Z"), BillingPeriodEnd: ptr("2025-04-01T00:00:00Z"),
		Status: "paid", Total: dec("200.00"), CreatedAt: ts("2025-03-03T17:06:07.473879Z"), UpdatedAt: ts("2025-03-03T17:06:07Z"),
	}
	payment := `{"id":"pay_1","accountId":"acc_1","invoiceId":"inv_1","status":"completed","amount":49.5,"currency":"USD"}`
	wantPayment := &Payment{ID: "pay_1", AccountID: "acc_1", InvoiceID: "inv_1", Status: PaymentStatusCompleted, Amount: dec("49.5"), Currency: "USD"}

	tests := []struct {
		eventType string
		data      string
		want      any
	}{
		{WebhookCreditsBalanceDepleted, `{"accountId":"acc_abc123","amount":"0","type":"units"}`,
			&CreditsBalanceDepleted{AccountID: "acc_abc123", Amount: dec("0"), Type: CreditTypeUnits}},
		{WebhookCreditsGranted, `{"id":"grant_1","accountId":"acc_1","amount":"50","type":"units","reason":"trial","expiresAt":"2025-04-01T00:00:00Z"}`,
			&CreditsGranted{ID: "grant_1", AccountID: "acc_1", Amount: dec("50"), Type: CreditTypeUnits, Reason: "trial", ExpiresAt: ptr("2025-04-01T00:00:00Z")}},
		{WebhookCreditsGranted, `{"accountId":"acc_1","amount":12.25,"creditType":"monetary","createdAt":"2025-03-01T10:00:00.5Z"}`,
			&CreditsGranted{AccountID: "acc_1", Amount: dec("12.25"), Type: CreditTypeMonetary, CreatedAt: ptr("2025-03-01T10:00:00.5Z")}},
		{WebhookCheckoutSessionCompleted, `{"id":"chk_xyz789","accountId":"acc_abc123","status":"completed","amount":"49.00","currency":"USD",
			"invoiceId":"inv_abc123","paymentId":"pay_def456","passThroughToken":"your-internal-reference"}`,
			&CheckoutSessionCompleted{ID: "chk_xyz789", AccountID: "acc_abc123", Status: "completed", Amount: dec("49.00"), Currency: "USD",
				InvoiceID: "inv_abc123", PaymentID: "pay_def456", PassThroughToken: "your-internal-reference"}},
		{WebhookSubscriptionCreated, subscription, wantSubscription},
		{WebhookSubscriptionActivated, subscription, wantSubscription},
		{WebhookSubscriptionStarted, subscription, wantSubscription},
		{WebhookSubscriptionUpdated, subscription, wantSubscription},
		{WebhookSubscriptionVersionUpdated, subscription, wantSubscription},
		{WebhookSubscriptionCancelationScheduled, subscription, wantSubscription},
		{WebhookSubscriptionCanceled, subscription, wantSubscription},
		{"subscription.paused", subscription, wantSubscription},
		{WebhookInvoiceIssued, invoice, wantInvoice},
		{WebhookInvoicePaid, invoice, wantInvoice},
		{WebhookPaymentCreated, payment, wantPayment},
		{WebhookPaymentUpdated, payment, wantPayment},
		{WebhookRefundUpdated, `{"id":"ref_1","paymentId":"pay_1","status":"succeeded","amount":"10","currency":"EUR"}`,
			&Refund{ID: "ref_1", PaymentID: "pay_1", Status: "succeeded", Amount: dec("10"), Currency: "EUR"}},
		{WebhookLineItemDeleted, `{"id":"li_1","invoiceId":"inv_1"}`, &LineItemDeleted{ID: "li_1", InvoiceID: "inv_1"}},
		{"usage.alert", `{"anything":[1,2,3]}`, json.RawMessage(`{"anything":[1,2,3]}`)},
		{"usage.alert", ``, json.RawMessage(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			e := &WebhookEvent{ID: "msg_1", Type: tt.eventType}
			if tt.data != "" {
				e.Data = json.RawMessage(tt.data)
			}
			got, err := e.Decode()
			require.NoError(t, err)
			require.IsType(t, tt.want, got)
			// decimal.Decimal and time.Time do not compare with ==: compare
			// their canonical JSON instead, and the exact values below.
			wantJSON, err := json.Marshal(tt.want)
			require.NoError(t, err)
			gotJSON, err := json.Marshal(got)
			require.NoError(t, err)
			require.JSONEq(t, string(wantJSON), string(gotJSON))
		})
	}
}

func TestWebhookEventDecodeErrors(t *testing.T) {
	tests := []struct {
		name, eventType, data string
	}{
		{"missing data", WebhookInvoicePaid, ``},
		{"null data", WebhookCheckoutSessionCompleted, `null`},
		{"data not an object", WebhookSubscriptionCanceled, `"sub_1"`},
		{"bad amount", WebhookInvoicePaid, `{"id":"inv_1","total":"two hundred"}`},
		{"bad time", WebhookSubscriptionActivated, `{"id":"sub_1","createdAt":"24/01/2024"}`},
		{"bad credits granted", WebhookCreditsGranted, `{"amount":[]}`},
		{"wrong field type", WebhookCreditsBalanceDepleted, `{"accountId":42}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &WebhookEvent{Type: tt.eventType}
			if tt.data != "" {
				e.Data = json.RawMessage(tt.data)
			}
			got, err := e.Decode()
			require.ErrorIs(t, err, ErrWebhookPayload)
			require.Nil(t, got)
		})
	}
}

func TestWebhookEventDecodeExactValues(t *testing.T) {
	e := &WebhookEvent{Type: WebhookCheckoutSessionCompleted, Data: json.RawMessage(`{"amount":"49.00","extra":1}`)}
	got, err := e.Decode()
	require.NoError(t, err)
	c := got.(*CheckoutSessionCompleted)
	require.True(t, c.Amount.Equal(decimal.RequireFromString("49")), c.Amount.String())
	require.Equal(t, "49.00", c.Amount.StringFixed(2))

	e = &WebhookEvent{Type: WebhookSubscriptionActivated, Data: json.RawMessage(`{"activatedAt":"2024-01-01T00:00:00.473879Z","createdAt":"2024-01-01T00:00:00Z"}`)}
	got, err = e.Decode()
	require.NoError(t, err)
	s := got.(*Subscription)
	require.Equal(t, 473879000, s.ActivatedAt.Nanosecond())
	require.Nil(t, s.ContractEndDate)
	require.Equal(t, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), s.CreatedAt)
}

// FuzzVerify checks that Verify never panics and never accepts a delivery
// whose signature header does not hold the signature of exactly its id,
// timestamp and body under the verifier's secret.
func FuzzVerify(f *testing.F) {
	key := mustKey(f, vectorSecret)
	now := vectorTS
	ts := strconv.FormatInt(now, 10)
	sign := func(id string, body string) string { return standardwebhooks.Sign(key, id, now, []byte(body)) }

	f.Add(vectorID, ts, sign(vectorID, envelopeBody), []byte(envelopeBody), false)
	f.Add(vectorID, ts, sign(vectorID, envelopeBody), []byte(envelopeBody), true)
	f.Add(vectorID, ts, sign(vectorID, envelopeBody), []byte(envelopeBody+"\n"), false)
	f.Add(vectorID, ts, "v1a,x "+sign(vectorID, envelopeBody), []byte(envelopeBody), false)
	f.Add("msg_other", ts, sign(vectorID, envelopeBody), []byte(envelopeBody), false)
	f.Add(vectorID, strconv.FormatInt(vectorTS, 10), vectorSig, []byte(vectorBody), false)
	f.Add(vectorID, "1614265330.0", sign(vectorID, envelopeBody), []byte(envelopeBody), false)
	f.Add(vectorID, "99999999999999999999", "v1,", []byte{}, false)
	f.Add("", "", "", []byte(nil), false)
	f.Add(vectorID, ts, sign(vectorID, `null`), []byte(`null`), false)
	f.Add(vectorID, ts, sign(vectorID, `{"type":""}`), []byte(`{"type":""}`), false)
	f.Add(vectorID, ts, sign(vectorID, `{"type":"x","data":`), []byte(`{"type":"x","data":`), true)
	f.Add(vectorID, ts, sign(vectorID, "\xff\xfe{"), []byte("\xff\xfe{"), false)
	f.Add(vectorID, ts, "v1,"+strings.Repeat("A", 43)+"= v1,,, ,v1", []byte(envelopeBody), false)

	v, err := NewWebhookVerifier(vectorSecret, WithWebhookClock(clockAt(now)))
	require.NoError(f, err)

	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, svix bool) {
		prefix := "webhook-"
		if svix {
			prefix = "svix-"
		}
		h := http.Header{}
		h.Set(prefix+"id", id)
		h.Set(prefix+"timestamp", ts)
		h.Set(prefix+"signature", sig)
		e, err := v.Verify(h, body)
		if err != nil {
			require.Nil(t, e)
			require.True(t, errors.Is(err, ErrWebhookHeaders) || errors.Is(err, ErrWebhookSignature) ||
				errors.Is(err, ErrWebhookTimestamp) || errors.Is(err, ErrWebhookPayload), "unexpected error %v", err)
			return
		}
		unix, err := strconv.ParseInt(ts, 10, 64)
		require.NoError(t, err)
		want := standardwebhooks.Sign(key, id, unix, body)
		require.Contains(t, strings.Fields(sig), want, "accepted a delivery it did not sign")
		require.Equal(t, id, e.ID)
		require.NotEmpty(t, e.Type)
	})
}

// BenchmarkVerify measures one verification of a 1 KiB event, the common
// case: one secret, one signature.
func BenchmarkVerify(b *testing.B) {
	// The envelope around a description padded so the whole body is 1 KiB.
	head := `{"type":"invoice.paid","timestamp":"2025-03-03T17:06:07.473879Z","data":{"id":"inv_1","accountId":"acc_1","description":"`
	tail := `"}}`
	body := head + strings.Repeat("x", 1024-len(head)-len(tail)) + tail
	require.Len(b, body, 1024)
	h := signedHeader(b, vectorSecret, vectorID, vectorTS, body)
	v, err := NewWebhookVerifier(vectorSecret, WithWebhookClock(clockAt(vectorTS)))
	require.NoError(b, err)
	raw := []byte(body)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := v.Verify(h, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzEnvelopeMatchesEncodingJSON: Verify reads the envelope with a scanner
// rather than encoding/json. On every signed body that encoding/json
// decodes into an envelope with a type, Verify must accept it and find the
// same type, timestamp and data.
func FuzzEnvelopeMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		envelopeBody,
		`{"type":"invoice.paid","timestamp":"2025-03-03T17:06:07Z","data":{"total":"200.00","lines":[{"a":"]}"}]}}`,
		`{"Type":"x","TIMESTAMP":null,"data":null}`,
		`{"type":"a","type":"b","data":[1,2]}`,
		`{"typ\u0065":"caf\u00e9","data":"s"}`,
		` {"data":{},"type":"x"} `,
	} {
		f.Add([]byte(s))
	}
	key := mustKey(f, vectorSecret)
	v, err := NewWebhookVerifier(vectorSecret, WithWebhookClock(clockAt(vectorTS)))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, body []byte) {
		var want struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		h := http.Header{}
		h.Set("webhook-id", vectorID)
		h.Set("webhook-timestamp", strconv.FormatInt(vectorTS, 10))
		h.Set("webhook-signature", standardwebhooks.Sign(key, vectorID, vectorTS, body))
		got, err := v.Verify(h, body)
		if json.Unmarshal(body, &want) != nil || want.Type == "" {
			if err != nil {
				require.ErrorIs(t, err, ErrWebhookPayload)
			}
			return
		}
		require.NoError(t, err, "%q", body)
		require.Equal(t, want.Type, got.Type)
		require.True(t, want.Timestamp.Equal(got.Timestamp))
		require.Equal(t, string(want.Data), string(got.Data))
	})
}

// Contract and billing-period dates decode from full times and from bare
// dates; other times stay strict.
func TestBillingDatesDecodeLeniently(t *testing.T) {
	var s Subscription
	require.NoError(t, json.Unmarshal([]byte(`{"id":"sub_1","accountId":"acc_1","status":"active",
		"contractStartDate":"2025-03-01","contractEndDate":null,"activatedAt":"2025-03-01T10:00:00.123456Z",
		"createdAt":"2025-03-01T10:00:00Z","updatedAt":"2025-03-01T10:00:00Z"}`), &s))
	require.Equal(t, "sub_1", s.ID)
	require.Equal(t, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), *s.ContractStartDate)
	require.Nil(t, s.ContractEndDate)
	require.Equal(t, time.Date(2025, 3, 1, 10, 0, 0, 123456000, time.UTC), *s.ActivatedAt)

	var inv Invoice
	require.NoError(t, json.Unmarshal([]byte(`{"id":"inv_1","total":"200.00",
		"billingPeriodStart":"2025-03-01T00:00:00Z","billingPeriodEnd":"2025-04-01",
		"createdAt":"2025-03-01T10:00:00Z","updatedAt":"2025-03-01T10:00:00Z"}`), &inv))
	require.Equal(t, "200.00", inv.Total.StringFixed(2))
	require.Equal(t, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), *inv.BillingPeriodStart)
	require.Equal(t, time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), *inv.BillingPeriodEnd)

	require.Error(t, json.Unmarshal([]byte(`{"id":"inv_1","billingPeriodEnd":"April"}`), &inv))
	require.Error(t, json.Unmarshal([]byte(`{"id":"sub_1","createdAt":"2025-03-01"}`), &s), "createdAt stays a full time")
}
