package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// The session cookie says who is signed in. Its value is
//
//	<user id>.<expiry, Unix seconds>.<signature>
//
// where the signature is the unpadded base64url HMAC-SHA256, under the
// session key, of everything before the last dot. The user id in it is
// random but no secret (it is the user's alias in Alguna, and /api/me
// shows it), so the signature is what makes the cookie proof of a sign-up:
// without it anyone who learnt another user's id could write it into the
// cookie and open their billing portal or spend their credits.
const (
	sessionCookieName = "session"
	// sessionLifetime is how long a sign-in lasts.
	sessionLifetime = 7 * 24 * time.Hour
	// sessionKeyEnv names the environment variable that holds the key.
	sessionKeyEnv = "SESSION_KEY"
	// minSessionKeyBytes is the shortest key accepted: as long as the
	// HMAC-SHA256 output, so that guessing the key is no easier than
	// guessing a signature.
	minSessionKeyBytes = 32
	// maxSessionCookieBytes bounds the value the app reads; its own are far
	// shorter.
	maxSessionCookieBytes = 512
)

// sessionKeyFromEnv returns the key that signs session cookies: SESSION_KEY,
// at least 32 bytes written as hex (such as the output of
// `openssl rand -hex 32`), or, when it is unset, a random key for this run.
//
// Replicas behind one load balancer, and restarts that must keep users
// signed in, share the key through the environment. Without one, a random
// key per run is the safe default: a key written into the code would let
// anyone who reads it sign in as any user, and this demo's users live in
// memory, so their sessions may as well end with the process.
func sessionKeyFromEnv() ([]byte, error) {
	v := strings.TrimSpace(os.Getenv(sessionKeyEnv))
	if v == "" {
		key := make([]byte, minSessionKeyBytes)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("making a session key: %w", err)
		}
		return key, nil
	}
	key, err := hex.DecodeString(v)
	if err != nil {
		// The error does not quote the value: it is a secret.
		return nil, fmt.Errorf("%s must be hex, at least %d bytes (%d hex digits), e.g. from `openssl rand -hex %d`", sessionKeyEnv, minSessionKeyBytes, 2*minSessionKeyBytes, minSessionKeyBytes)
	}
	if len(key) < minSessionKeyBytes {
		return nil, fmt.Errorf("%s is %d bytes; it must be at least %d (%d hex digits), e.g. from `openssl rand -hex %d`", sessionKeyEnv, len(key), minSessionKeyBytes, 2*minSessionKeyBytes, minSessionKeyBytes)
	}
	return key, nil
}

// sessions signs and verifies session cookies.
type sessions struct {
	key    []byte
	secure bool
	now    func() time.Time
}

func newSessions(key []byte, secure bool) (*sessions, error) {
	if len(key) < minSessionKeyBytes {
		return nil, fmt.Errorf("the session key is %d bytes; it must be at least %d", len(key), minSessionKeyBytes)
	}
	return &sessions{key: key, secure: secure, now: time.Now}, nil
}

// signIn sets the cookie that signs userID in.
func (s *sessions) signIn(w http.ResponseWriter, userID string) {
	payload := userID + "." + strconv.FormatInt(s.now().Add(sessionLifetime).Unix(), 10)
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // Secure follows the public URL: https in production, plain http for the demo on localhost.
		Name:     sessionCookieName,
		Value:    payload + "." + base64.RawURLEncoding.EncodeToString(s.sign(payload)),
		Path:     "/",
		MaxAge:   int(sessionLifetime / time.Second),
		HttpOnly: true,
		// Lax: other sites' forms cannot post to /action with it.
		SameSite: http.SameSiteLaxMode,
		Secure:   s.secure,
	})
}

var errNoSession = errors.New("not signed in")

// userID returns the id of the user the request's session cookie signs in.
// A missing, malformed, unsigned, forged or expired cookie is errNoSession.
func (s *sessions) userID(r *http.Request) (string, error) {
	c, err := r.Cookie(sessionCookieName)
	if err != nil || len(c.Value) > maxSessionCookieBytes {
		return "", errNoSession
	}
	dot := strings.LastIndexByte(c.Value, '.')
	if dot < 0 {
		return "", errNoSession
	}
	payload := c.Value[:dot]
	got, err := base64.RawURLEncoding.Strict().DecodeString(c.Value[dot+1:])
	// hmac.Equal compares in constant time, so that the time an answer
	// takes says nothing about how much of a forged signature was right.
	if err != nil || !hmac.Equal(got, s.sign(payload)) {
		return "", errNoSession
	}
	// Signed by us, so well formed; checked all the same.
	dot = strings.LastIndexByte(payload, '.')
	if dot <= 0 {
		return "", errNoSession
	}
	id := payload[:dot]
	exp, err := strconv.ParseInt(payload[dot+1:], 10, 64)
	if err != nil || s.now().Unix() >= exp {
		return "", errNoSession
	}
	return id, nil
}

func (s *sessions) sign(payload string) []byte {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(payload))
	return mac.Sum(nil)
}
