package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// signSession writes a session cookie value as the app documents it:
// "<user id>.<expiry in Unix seconds>.<signature>", the signature being the
// unpadded base64url HMAC-SHA256, under key, of everything before it.
func signSession(key []byte, userID, expiry string) string {
	payload := userID + "." + expiry
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// sessionCookie is the one cookie the app set in v's browser.
func sessionCookie(t *testing.T, v *visitor) *http.Cookie {
	t.Helper()
	u, err := url.Parse(v.base)
	require.NoError(t, err)
	cookies := v.http.Jar.Cookies(u)
	require.Len(t, cookies, 1)
	return cookies[0]
}

// asCookie sends a request with exactly one cookie, as an attacker who
// writes it by hand would, and returns the answer.
func asCookie(t *testing.T, base, method, path, name, value string, wantJSON bool) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, nil)
	require.NoError(t, err)
	// Set by hand: http.Cookie would sanitise what an attacker sends as is.
	req.Header.Set("Cookie", name+"="+value)
	if wantJSON {
		req.Header.Set("Accept", "application/json")
	}
	v := &visitor{base: base, http: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	resp, err := v.do(req)
	require.NoError(t, err)
	return resp
}

// TestForgedSessionIsNotSignedIn: a session cookie the app did not sign, or
// signed for someone else, must not open another user's dashboard or portal,
// nor spend their credits.
func TestForgedSessionIsNotSignedIn(t *testing.T) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	t.Setenv("SESSION_KEY", hex.EncodeToString(key))
	ctx := context.Background()
	env, inst := startApp(t)
	victim := signUp(t, inst.publicURL, "Ada", "ada@example.com")
	attacker := signUp(t, inst.publicURL, "Mallory", "mallory@example.com")
	victimMe, err := victim.me(ctx)
	require.NoError(t, err)
	attackerMe, err := attacker.me(ctx)
	require.NoError(t, err)
	require.NotEqual(t, victimMe.ID, attackerMe.ID)

	own := sessionCookie(t, attacker)
	name := own.Name
	victimValue := sessionCookie(t, victim).Value
	// The attacker's own signature, on the victim's id.
	withOwnSignature := victimMe.ID
	if i := strings.Index(own.Value, "."); i >= 0 {
		withOwnSignature += own.Value[i:]
	}
	tampered := []byte(victimValue)
	last := len(tampered) - 1
	if tampered[last] == 'A' {
		tampered[last] = 'B'
	} else {
		tampered[last] = 'A'
	}
	otherKey := make([]byte, 32)
	_, err = rand.Read(otherKey)
	require.NoError(t, err)
	later := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	earlier := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	good := signSession(key, victimMe.ID, later)
	sig := good[strings.LastIndex(good, ".")+1:]

	forged := []struct{ name, value string }{
		{"a bare user id", victimMe.ID},
		{"the victim's id under the attacker's signature", withOwnSignature},
		{"the victim's cookie with a tampered signature", string(tampered)},
		{"signed with another key", signSession(otherKey, victimMe.ID, later)},
		{"unsigned", victimMe.ID + "." + later},
		{"an empty signature", victimMe.ID + "." + later + "."},
		{"a truncated signature", victimMe.ID + "." + later + "." + sig[:len(sig)/2]},
		{"a signature that is not base64", victimMe.ID + "." + later + "." + strings.Repeat("!", len(sig))},
		{"a signature with padding", good + "="},
		{"a later expiry under the old signature", victimMe.ID + "." + strconv.FormatInt(time.Now().Add(48*time.Hour).Unix(), 10) + "." + sig},
		{"expired", signSession(key, victimMe.ID, earlier)},
		{"an expiry that is not a number", signSession(key, victimMe.ID, "soon")},
		{"an expiry past int64", signSession(key, victimMe.ID, "99999999999999999999")},
		{"no user id", signSession(key, "", later)},
		{"a user who does not exist", signSession(key, "user_999", later)},
		{"empty", ""},
		{"dots only", ".."},
		{"huge", strings.Repeat("a", 3000) + "." + later + "." + sig},
	}
	for _, f := range forged {
		t.Run(f.name, func(t *testing.T) {
			dash := asCookie(t, inst.publicURL, http.MethodGet, "/dashboard", name, f.value, false)
			require.Equal(t, http.StatusSeeOther, dash.StatusCode, "the dashboard opened")
			require.Equal(t, "/", dash.Location)

			billing := asCookie(t, inst.publicURL, http.MethodGet, "/billing", name, f.value, false)
			require.Equal(t, http.StatusSeeOther, billing.StatusCode)
			require.Equal(t, "/", billing.Location, "the billing portal opened")

			upgrade := asCookie(t, inst.publicURL, http.MethodGet, "/upgrade", name, f.value, false)
			require.Equal(t, "/", upgrade.Location, "a checkout was started")

			for _, path := range []string{"/api/me", "/action"} {
				method := http.MethodGet
				if path == "/action" {
					method = http.MethodPost
				}
				resp := asCookie(t, inst.publicURL, method, path, name, f.value, true)
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s", method, path)
			}
		})
	}

	// Nothing was spent on the victim's account, and no checkout started.
	require.NoError(t, inst.events.Flush(ctx))
	for _, e := range env.fake.Events() {
		require.NotEqual(t, victimMe.AccountID, e.Account, "an event was sent for the victim")
	}
	require.True(t, env.fake.Balance(victimMe.AccountID, alguna.CreditTypeUnits).Equal(trialCredits))
	require.Empty(t, env.fake.CheckoutSessions())

	// The control: a cookie signed with the app's key for the victim, in the
	// documented format, is the victim's session.
	dash := asCookie(t, inst.publicURL, http.MethodGet, "/dashboard", name, good, false)
	require.Equal(t, http.StatusOK, dash.StatusCode)
	me := asCookie(t, inst.publicURL, http.MethodGet, "/api/me", name, good, true)
	require.Equal(t, http.StatusOK, me.StatusCode)
}

// TestSessionCookie checks what the browser is told to keep: a signed
// session, out of reach of scripts and of other sites' forms, that expires.
func TestSessionCookie(t *testing.T) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	t.Setenv("SESSION_KEY", hex.EncodeToString(key))
	_, inst := startApp(t)

	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, inst.publicURL+"/signup",
		strings.NewReader(url.Values{"name": {"Ada"}, "email": {"ada@example.com"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	require.Equal(t, "session", c.Name)
	require.Equal(t, "/", c.Path)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	require.False(t, c.Secure, "the app's URL is plain http")
	require.Equal(t, int(sessionLifetime/time.Second), c.MaxAge)

	parts := strings.Split(c.Value, ".")
	require.Len(t, parts, 3, c.Value)
	require.Regexp(t, `^user_[0-9a-f]{24}$`, parts[0])
	_, err = inst.store.Get(parts[0])
	require.NoError(t, err, "the cookie names a user the app does not have")
	expiry, err := strconv.ParseInt(parts[1], 10, 64)
	require.NoError(t, err)
	require.InDelta(t, time.Now().Add(sessionLifetime).Unix(), expiry, 60)
	require.Equal(t, signSession(key, parts[0], parts[1]), c.Value)
}

// TestSessionKeyFromEnv: the key is 32 bytes or more, written in hex; a
// short or garbled one is refused before anything starts, and without one
// every run makes its own.
func TestSessionKeyFromEnv(t *testing.T) {
	long := strings.Repeat("ab", 48)
	for _, tc := range []struct {
		name, value string
		want        []byte
		wantErr     string
	}{
		{name: "32 bytes", value: strings.Repeat("0f", 32), want: []byte(strings.Repeat("\x0f", 32))},
		{name: "longer", value: long, want: []byte(strings.Repeat("\xab", 48))},
		{name: "upper case", value: strings.Repeat("AB", 32), want: []byte(strings.Repeat("\xab", 32))},
		{name: "surrounding space", value: " " + strings.Repeat("0f", 32) + "\n", want: []byte(strings.Repeat("\x0f", 32))},
		{name: "31 bytes", value: strings.Repeat("0f", 31), wantErr: "SESSION_KEY is 31 bytes; it must be at least 32"},
		{name: "a passphrase", value: "correct horse battery staple, really long enough", wantErr: "SESSION_KEY must be hex"},
		{name: "odd length", value: strings.Repeat("0f", 32) + "a", wantErr: "SESSION_KEY must be hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SESSION_KEY", tc.value)
			key, err := sessionKeyFromEnv()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), strings.TrimSpace(tc.value), "the error repeats the secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, key)
		})
	}

	t.Run("unset", func(t *testing.T) {
		t.Setenv("SESSION_KEY", "")
		a, err := sessionKeyFromEnv()
		require.NoError(t, err)
		b, err := sessionKeyFromEnv()
		require.NoError(t, err)
		require.Len(t, a, 32)
		require.NotEqual(t, a, b, "each run needs a key of its own")
	})
}
