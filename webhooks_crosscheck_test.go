package alguna

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go/internal/standardwebhooks"
)

// crosscheckDir holds a node script that signs and verifies with the
// reference TypeScript library of Standard Webhooks, so that both the
// verifier and the signer the fake server uses are checked against an
// implementation we did not write.
const crosscheckDir = "internal/standardwebhooks/testdata/crosscheck"

// crosscheckDelivery is one delivery as the node script reads and writes it.
type crosscheckDelivery struct {
	Secrets   []string `json:"secrets"`
	ID        string   `json:"id"`
	Timestamp string   `json:"timestamp"`
	Body      []byte   `json:"body"` // base64 in JSON, as the script expects
	Signature string   `json:"signature"`
}

// requireNode returns the node binary, or skips the test when node or the
// script's dependencies are missing. Under CI (CI set) it fails instead, so
// that a missing install step cannot pass as a skipped check.
func requireNode(t *testing.T) string {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s; CI is set, so the cross-check may not be skipped", why)
		}
		t.Skip(why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(crosscheckDir, "node_modules", "standardwebhooks", "package.json")); err != nil {
		unavailable("the cross-check's node_modules are missing: run (cd " + crosscheckDir + " && npm ci)")
	}
	return node
}

func runCrosscheck(t *testing.T, node string, stdin []byte, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"crosscheck.js"}, args...)...)
	cmd.Dir = crosscheckDir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node crosscheck.js %s: %s", strings.Join(args, " "), stderr.String())
	return out
}

// Deliveries signed by the reference library verify with WebhookVerifier,
// under each secret they were signed with, and stop verifying once touched.
func TestCrosscheckNodeSignsGoVerifies(t *testing.T) {
	node := requireNode(t)
	var deliveries []crosscheckDelivery
	require.NoError(t, json.Unmarshal(runCrosscheck(t, node, nil, "sign", "200"), &deliveries))
	require.Len(t, deliveries, 200)

	for i, d := range deliveries {
		unix, err := strconv.ParseInt(d.Timestamp, 10, 64)
		require.NoError(t, err)
		h := http.Header{}
		h.Set("webhook-id", d.ID)
		h.Set("webhook-timestamp", d.Timestamp)
		h.Set("webhook-signature", d.Signature)
		desc := fmt.Sprintf("delivery %d: %+v", i, d)

		for _, secret := range d.Secrets {
			// Each secret alone, and as the rotation secret behind another.
			for _, v := range []*WebhookVerifier{
				mustVerifier(t, secret, WithWebhookClock(clockAt(unix))),
				mustVerifier(t, otherSecret, WithWebhookSecrets(secret), WithWebhookClock(clockAt(unix+299))),
			} {
				e, err := v.Verify(h, d.Body)
				require.NoError(t, err, desc)
				require.Equal(t, d.ID, e.ID, desc)
				require.True(t, strings.Contains(e.Type, "."), desc)

				tampered := append([]byte(nil), d.Body...)
				tampered[len(tampered)/2] ^= 0x01
				_, err = v.Verify(h, tampered)
				require.ErrorIs(t, err, ErrWebhookSignature, desc)
				_, err = v.Verify(with(h, "webhook-id", d.ID+"x"), d.Body)
				require.ErrorIs(t, err, ErrWebhookSignature, desc)
			}
			// Go's signer agrees byte for byte with the library's.
			key, err := standardwebhooks.ParseSecret(secret)
			require.NoError(t, err)
			require.Contains(t, strings.Fields(d.Signature), standardwebhooks.Sign(key, d.ID, unix, d.Body), desc)
		}
		_, err = mustVerifier(t, otherSecret, WithWebhookClock(clockAt(unix))).Verify(h, d.Body)
		require.ErrorIs(t, err, ErrWebhookSignature, desc)
	}
}

// Deliveries signed by standardwebhooks.Sign (what the fake server sends)
// verify with the reference library, and the ones we spoil do not.
func TestCrosscheckGoSignsNodeVerifies(t *testing.T) {
	node := requireNode(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0xa16a))

	var deliveries []crosscheckDelivery
	var want []bool
	add := func(d crosscheckDelivery, ok bool) {
		deliveries = append(deliveries, d)
		want = append(want, ok)
	}
	for range 200 {
		secret, key := randomSecret(rng)
		other, otherKey := randomSecret(rng)
		id := "msg_" + randomToken(rng, 1+rng.IntN(40))
		// The library checks against its own clock with a 5-minute window.
		unix := time.Now().Unix() + int64(rng.IntN(401)) - 200
		ts := strconv.FormatInt(unix, 10)
		body := randomEventBody(t, rng)
		sig := standardwebhooks.Sign(key, id, unix, body)
		good := crosscheckDelivery{Secrets: []string{secret}, ID: id, Timestamp: ts, Body: body, Signature: sig}
		add(good, true)

		rotated := good
		rotated.Signature = standardwebhooks.Sign(otherKey, id, unix, body) + " " + sig
		add(rotated, true)

		unknownFirst := good
		unknownFirst.Signature = "v1a," + sig[3:] + " " + sig
		add(unknownFirst, true)

		tampered := good
		tampered.Body = append(append([]byte(nil), body...), '\n')
		add(tampered, false)

		otherID := good
		otherID.ID = id + "0"
		add(otherID, false)

		wrongSecret := good
		wrongSecret.Secrets = []string{other}
		add(wrongSecret, false)

		onlyUnknown := good
		onlyUnknown.Signature = "v2," + sig[3:]
		add(onlyUnknown, false)
	}

	in, err := json.Marshal(deliveries)
	require.NoError(t, err)
	var verdicts []struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(runCrosscheck(t, node, in, "verify"), &verdicts))
	require.Len(t, verdicts, len(deliveries))
	for i, v := range verdicts {
		require.Equal(t, want[i], v.OK, "delivery %d (%s): %+v", i, v.Error, deliveries[i])
	}
}

func mustVerifier(t *testing.T, secret string, opts ...WebhookOption) *WebhookVerifier {
	t.Helper()
	v, err := NewWebhookVerifier(secret, opts...)
	require.NoError(t, err)
	return v
}

func randomSecret(rng *rand.Rand) (string, []byte) {
	key := make([]byte, 16+rng.IntN(49))
	for i := range key {
		key[i] = byte(rng.Uint32())
	}
	s := base64.StdEncoding.EncodeToString(key)
	if rng.IntN(4) != 0 {
		s = standardwebhooks.SecretPrefix + s
	}
	return s, key
}

func randomToken(rng *rand.Rand, n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rng.IntN(len(chars))]
	}
	return string(b)
}

// randomEventBody returns an event envelope whose text mixes the characters
// encoders disagree on: escapes, controls, multi-byte and astral UTF-8.
func randomEventBody(t *testing.T, rng *rand.Rand) []byte {
	alphabet := []string{"a", "Z", "0", " ", "_", `"`, `\`, "\n", "\t", "\x01", "é", "日本", "€", "\u2028", "\ufeff", "😀", "🧾", "<", "&"}
	var note strings.Builder
	for range rng.IntN(120) {
		note.WriteString(alphabet[rng.IntN(len(alphabet))])
	}
	event := map[string]any{
		"type":      WebhookInvoicePaid,
		"timestamp": time.Unix(int64(rng.Uint32()), 0).UTC().Format(time.RFC3339Nano),
		"data":      map[string]any{"id": "inv_" + randomToken(rng, 8), "total": strconv.Itoa(rng.IntN(100000)) + ".00", "note": note.String()},
	}
	var body []byte
	var err error
	if rng.IntN(2) == 0 {
		body, err = json.Marshal(event)
	} else {
		body, err = json.MarshalIndent(event, "", "  ")
	}
	require.NoError(t, err)
	return body
}
