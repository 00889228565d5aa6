// Package standardwebhooks is the signing and verifying core of the Standard
// Webhooks scheme, shared by the SDK's webhook verifier and the fake server's
// webhook sender so that both sides agree byte for byte.
package standardwebhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"
	"strings"
	"sync"
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
	// One write for "id.timestamp." rather than four: each conversion of a
	// string handed to the hash escapes and costs an allocation.
	prefix := make([]byte, 0, len(id)+len(timestamp)+2)
	prefix = append(append(append(append(prefix, id...), '.'), timestamp...), '.')
	mac.Write(prefix)
	mac.Write(body)
	return mac.Sum(nil)
}

// Sign returns the webhook-signature header value ("v1,<base64>") for one
// delivery signed at the Unix time unix.
func Sign(key []byte, id string, unix int64, body []byte) string {
	sig := Signature(key, id, strconv.FormatInt(unix, 10), body)
	return "v1," + base64.StdEncoding.EncodeToString(sig)
}

// Key is a signing key prepared for repeated use. Keying an HMAC hashes the
// key twice and allocates its state; a Key does that once and recycles the
// state, which is most of the cost of checking a small delivery.
type Key struct {
	raw  []byte
	macs sync.Pool // *keyedMAC
}

// keyedMAC is a keyed HMAC with scratch space, so that a check allocates
// nothing once warm.
type keyedMAC struct {
	h       hash.Hash
	scratch []byte
	sum     [sha256.Size]byte
}

// NewKey prepares raw, a decoded secret, for signing and checking.
func NewKey(raw []byte) *Key {
	return &Key{raw: append([]byte(nil), raw...)}
}

// encoded writes the base64 signature of "id.timestamp.body" into dst.
func (k *Key) encoded(dst *[signatureLen]byte, id, timestamp string, body []byte) {
	m, ok := k.macs.Get().(*keyedMAC)
	if ok {
		m.h.Reset()
	} else {
		m = &keyedMAC{h: hmac.New(sha256.New, k.raw)}
	}
	m.scratch = append(append(append(append(m.scratch[:0], id...), '.'), timestamp...), '.')
	m.h.Write(m.scratch)
	m.h.Write(body)
	base64.StdEncoding.Encode(dst[:], m.h.Sum(m.sum[:0]))
	if cap(m.scratch) <= 1024 {
		k.macs.Put(m)
	}
}

// MatchKeys is Match for prepared keys.
func MatchKeys(keys []*Key, id, timestamp string, body []byte, header string) bool {
	var want [signatureLen]byte
	for _, key := range keys {
		key.encoded(&want, id, timestamp, body)
		if matchEntries(header, want[:]) {
			return true
		}
	}
	return false
}

// Match reports whether any "v1,<base64>" entry of the space-separated
// header value is a valid signature of the content under any of keys.
// Entries of other versions are skipped, so that a sender may add new schemes
// without breaking older receivers. Comparisons are constant-time.
//
// Entries are compared as base64 text with the expected signature, never
// decoded: the header is attacker-controlled, and text comparison needs no
// buffer sized from it.
func Match(keys [][]byte, id, timestamp string, body []byte, header string) bool {
	var want [signatureLen]byte
	for _, key := range keys {
		base64.StdEncoding.Encode(want[:], Signature(key, id, timestamp, body))
		if matchEntries(header, want[:]) {
			return true
		}
	}
	return false
}

// matchEntries reports whether any v1 entry of header is want.
func matchEntries(header string, want []byte) bool {
	for rest := header; rest != ""; {
		var entry string
		entry, rest = nextEntry(rest)
		version, encoded, ok := strings.Cut(entry, ",")
		if ok && version == "v1" && equalConstantTime(encoded, want) {
			return true
		}
	}
	return false
}

// signatureLen is the length of a base64-encoded HMAC-SHA256.
const signatureLen = (sha256.Size + 2) / 3 * 4

// nextEntry splits the first entry off a header value whose entries are
// separated by spaces or tabs.
func nextEntry(s string) (entry, rest string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != '\t' {
		j++
	}
	return s[i:j], s[j:]
}

// equalConstantTime reports whether a and b hold the same bytes, in time
// that depends only on their lengths (which are public: a signature's length
// is fixed).
func equalConstantTime(a string, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var diff byte
	for i := 0; i < len(b); i++ {
		diff |= a[i] ^ b[i]
	}
	return diff == 0
}
