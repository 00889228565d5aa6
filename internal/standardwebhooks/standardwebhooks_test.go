package standardwebhooks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The published vector of the Standard Webhooks reference libraries.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignKnownVector(t *testing.T) {
	key, err := ParseSecret(vecSecret)
	require.NoError(t, err)
	require.Equal(t, vecSig, Sign(key, vecID, vecTS, []byte(vecBody)))
}

func TestMatch(t *testing.T) {
	key, err := ParseSecret(vecSecret)
	require.NoError(t, err)
	other, err := ParseSecret("whsec_dGhlIG90aGVyIHNlY3JldCwgdXNlZCBmb3Igcm90YXRpb24=")
	require.NoError(t, err)
	body := []byte(vecBody)

	tests := []struct {
		name   string
		keys   [][]byte
		id, ts string
		body   []byte
		header string
		want   bool
	}{
		{"valid", [][]byte{key}, vecID, "1614265330", body, vecSig, true},
		{"rotation key list", [][]byte{other, key}, vecID, "1614265330", body, vecSig, true},
		{"several entries", [][]byte{key}, vecID, "1614265330", body, "v1,AAAA v2,xyz " + vecSig, true},
		{"unknown version only", [][]byte{key}, vecID, "1614265330", body, "v1a," + vecSig[3:], false},
		{"tampered body", [][]byte{key}, vecID, "1614265330", []byte(`{"test": 2432232315}`), vecSig, false},
		{"trailing newline", [][]byte{key}, vecID, "1614265330", []byte(vecBody + "\n"), vecSig, false},
		{"other id", [][]byte{key}, "msg_other", "1614265330", body, vecSig, false},
		{"other timestamp", [][]byte{key}, vecID, "1614265331", body, vecSig, false},
		{"wrong key", [][]byte{other}, vecID, "1614265330", body, vecSig, false},
		{"garbage", [][]byte{key}, vecID, "1614265330", body, "v1,!!!", false},
		{"empty", [][]byte{key}, vecID, "1614265330", body, "", false},
		{"tab separated", [][]byte{key}, vecID, "1614265330", body, "v1,AAAA\t" + vecSig, true},
		{"unpadded", [][]byte{key}, vecID, "1614265330", body, strings.TrimSuffix(vecSig, "="), false},
		// 44 base64 characters without padding decode to 33 bytes: once made
		// a decoder sized for a signature panic.
		{"overlong entry", [][]byte{key}, vecID, "1614265330", body, "v1," + strings.Repeat("0", 44), false},
		{"very long entry", [][]byte{key}, vecID, "1614265330", body, "v1," + strings.Repeat("A", 4096), false},
		{"signature with prefix", [][]byte{key}, vecID, "1614265330", body, "v1,x" + vecSig[3:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Match(tt.keys, tt.id, tt.ts, tt.body, tt.header))
		})
	}
}

func TestParseSecret(t *testing.T) {
	for _, bad := range []string{"", "whsec_", "whsec_***", "   "} {
		_, err := ParseSecret(bad)
		require.Error(t, err, "%q", bad)
	}
	withPrefix, err := ParseSecret(vecSecret)
	require.NoError(t, err)
	bare, err := ParseSecret(vecSecret[len(SecretPrefix):])
	require.NoError(t, err)
	require.Equal(t, withPrefix, bare)
}

// Prepared keys agree with one-off signing, also when reused and from many
// goroutines at once.
func TestMatchKeysAgreesWithMatch(t *testing.T) {
	raw, err := ParseSecret(vecSecret)
	require.NoError(t, err)
	keys := []*Key{NewKey(raw)}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				body := []byte(strings.Repeat("x", g*100+i))
				header := Sign(raw, vecID, vecTS, body)
				require.True(t, MatchKeys(keys, vecID, "1614265330", body, header))
				require.False(t, MatchKeys(keys, vecID, "1614265331", body, header))
			}
		}()
	}
	for range 4 {
		<-done
	}
	require.True(t, MatchKeys(keys, vecID, "1614265330", []byte(vecBody), vecSig))
}
