// Package standardwebhooks is the signing and verifying core of the Standard
// Webhooks scheme, shared by the SDK's webhook verifier and the fake server's
// webhook sender so that both sides agree byte for byte.
package standardwebhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// SecretPrefix is the prefix Alguna shows in front of the base64 key.
const SecretPrefix = "whsec_"

// ParseSecret decodes a "whsec_<base64>" secret, or a bare base64 one, into
// the HMAC key it stands for.
func ParseSecret(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	s = strings.TrimPrefix(s, SecretPrefix)
	if s == "" {
		return nil, errors.New("webhook secret is empty")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// Some dashboards strip the padding; accept that too rather than make
		// users guess.
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, errors.New("webhook secret is not valid base64")
	}
	if len(key) == 0 {
		return nil, errors.New("webhook secret is empty")
	}
	return key, nil
}

// Signature computes the raw HMAC-SHA256 of "id.timestamp.body" under key.
// The timestamp is the header's decimal text, so the bytes signed are exactly
// the bytes sent.
func Signature(key []byte, id, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// Sign returns the webhook-signature header value ("v1,<base64>") for one
// delivery signed at the Unix time unix.
func Sign(key []byte, id string, unix int64, body []byte) string {
	sig := Signature(key, id, strconv.FormatInt(unix, 10), body)
	return "v1," + base64.StdEncoding.EncodeToString(sig)
}

// Match reports whether any "v1,<base64>" entry of the space-separated
// header value is a valid signature of the content under any of keys.
// Entries of other versions are skipped, so that a sender may add new schemes
// without breaking older receivers. Comparisons are constant-time.
func Match(keys [][]byte, id, timestamp string, body []byte, header string) bool {
	var want [sha256.Size]byte
	var got [sha256.Size]byte
	for _, key := range keys {
		copy(want[:], Signature(key, id, timestamp, body))
		for _, entry := range strings.Fields(header) {
			version, encoded, ok := strings.Cut(entry, ",")
			if !ok || version != "v1" {
				continue
			}
			n, err := base64.StdEncoding.Decode(got[:], []byte(encoded))
			if err != nil || n != sha256.Size || base64.StdEncoding.EncodedLen(n) != len(encoded) {
				continue
			}
			if hmac.Equal(got[:], want[:]) {
				return true
			}
		}
	}
	return false
}
