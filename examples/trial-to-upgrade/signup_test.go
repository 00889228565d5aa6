package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// TestSecondRunGetsItsOwnAccounts runs the app twice against one Alguna, as
// a developer does who runs the example twice against their sandbox: the
// second run's first user is a new user, and must get an account of its
// own, not the one the first run's first user signed up with.
func TestSecondRunGetsItsOwnAccounts(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env, err := connect(log)
	require.NoError(t, err)
	t.Cleanup(env.close)
	require.NotNil(t, env.fake, "the test runs against the fake; unset ALGUNA_API_KEY")

	var accounts []string
	for range 2 {
		inst, err := start(ctx, env, "127.0.0.1:0", "", log)
		require.NoError(t, err)
		me, err := signUp(t, inst.publicURL, "Ada", "ada@example.com").me(ctx)
		require.NoError(t, err)
		require.NoError(t, inst.shutdown())
		accounts = append(accounts, me.AccountID)
		require.True(t, env.fake.Balance(me.AccountID, alguna.CreditTypeUnits).Equal(trialCredits))
	}
	require.NotEqual(t, accounts[0], accounts[1], "the second run's user signed in to the first run's account")
}

// accountsWithAlias lists the fake's accounts that answer to alias.
func accountsWithAlias(t *testing.T, env *environment, alias string) []string {
	t.Helper()
	var ids []string
	for a, err := range env.fake.Client().Accounts.All(context.Background(), nil) {
		require.NoError(t, err)
		if slices.Contains(a.Aliases, alias) || a.Alias == alias {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// requireOneTrial checks that the account holds exactly one grant, the
// trial's.
func requireOneTrial(t *testing.T, env *environment, accountID string) {
	t.Helper()
	grants, err := env.fake.Client().Credits.ListGrants(context.Background(), accountID, nil)
	require.NoError(t, err)
	require.Len(t, grants.Data, 1)
	require.Equal(t, trialReason, grants.Data[0].Reason)
	require.True(t, grants.Data[0].Amount.Equal(trialCredits))
	require.True(t, env.fake.Balance(accountID, alguna.CreditTypeUnits).Equal(trialCredits), "balance %s", env.fake.Balance(accountID, alguna.CreditTypeUnits))
}

// finish posts the sign-up's "Try again" as the user signed in with cookie.
func finish(t *testing.T, base, cookie string) answer {
	t.Helper()
	return asCookie(t, base, http.MethodPost, "/signup/finish", sessionCookieName, cookie, false)
}

// TestConcurrentSignUpsConverge finishes one user's sign-up many times at
// once, as a user does who presses "Try again" in several tabs: every one
// ends on the dashboard, with one account found by the user's id and one
// trial grant.
func TestConcurrentSignUpsConverge(t *testing.T) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	t.Setenv("SESSION_KEY", hex.EncodeToString(key))
	env, inst := startApp(t)
	// A sign-up that stopped before it reached Alguna.
	u := inst.store.Add("Ada", "ada@example.com", false)
	cookie := signSession(key, u.ID, strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))

	const n = 8
	answers := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = finish(t, inst.publicURL, cookie)
		}()
	}
	close(start)
	wg.Wait()
	for _, a := range answers {
		require.Equal(t, http.StatusSeeOther, a.StatusCode)
		require.Equal(t, "/dashboard", a.Location)
	}

	ids := accountsWithAlias(t, env, u.ID)
	require.Len(t, ids, 1, "one user, one account")
	stored, err := inst.store.Get(u.ID)
	require.NoError(t, err)
	require.Equal(t, ids[0], stored.AccountID)
	requireOneTrial(t, env, ids[0])
}

// TestSignUpFindsTheAccountMadeEarlier: an account with the user's alias
// exists already, made by an earlier attempt whose idempotency key Alguna
// has forgotten (or from Alguna's dashboard). Creating another would be
// refused (422): sign-up must find it, and grant the trial once however
// often it runs.
func TestSignUpFindsTheAccountMadeEarlier(t *testing.T) {
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	t.Setenv("SESSION_KEY", hex.EncodeToString(key))
	ctx := context.Background()
	env, inst := startApp(t)
	u := inst.store.Add("Ada", "ada@example.com", false)
	earlier, err := env.fake.Client().Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Ada", Alias: u.ID})
	require.NoError(t, err)
	cookie := signSession(key, u.ID, strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))

	for range 2 {
		a := finish(t, inst.publicURL, cookie)
		require.Equal(t, http.StatusSeeOther, a.StatusCode)
		require.Equal(t, "/dashboard", a.Location)
	}
	require.Equal(t, []string{earlier.ID}, accountsWithAlias(t, env, u.ID))
	stored, err := inst.store.Get(u.ID)
	require.NoError(t, err)
	require.Equal(t, earlier.ID, stored.AccountID)
	requireOneTrial(t, env, earlier.ID)
}

// raceTransport creates the account with the alias, as another sign-up of
// the same user would, after the lookup has found none and before the
// create arrives.
type raceTransport struct {
	next   http.RoundTripper
	racer  func()
	raced  atomic.Bool
	posted atomic.Int32
}

func (rt *raceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.URL.Path == "/accounts" {
		rt.posted.Add(1)
		if !rt.raced.Swap(true) {
			rt.racer()
		}
	}
	return rt.next.RoundTrip(r)
}

// TestSignUpLosesTheRace: another sign-up of the user creates the account
// between this one's lookup and its create, with another idempotency key
// (another replica's, or a retry after Alguna's 24 hours). The create is
// refused with 422, and sign-up looks the account up again.
func TestSignUpLosesTheRace(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	var winner string
	rt := &raceTransport{next: &http.Transport{}}
	rt.racer = func() {
		acc, err := env.fake.Client().Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Ada", Alias: "user_racing"})
		require.NoError(t, err)
		winner = acc.ID
	}
	client := env.fake.Client(alguna.WithHTTPClient(&http.Client{Transport: rt}))

	id, created, err := ensureAccount(ctx, client, "user_racing", "Ada", "ada@example.com")
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, winner, id)
	require.EqualValues(t, 1, rt.posted.Load(), "a 422 is final: it was not retried")
	require.Equal(t, []string{winner}, accountsWithAlias(t, env, "user_racing"))
}

// TestSignUpRefusedForAnotherReason: a create Alguna refuses (422) for
// another reason than a taken alias is an error, with Alguna's reason, and
// makes no account. Here the idempotency key was used, within Alguna's 24
// hours, for another request.
func TestSignUpRefusedForAnotherReason(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	_, err := env.client.Accounts.Create(ctx, &alguna.AccountCreateParams{Name: "Someone else"}, alguna.WithIdempotencyKey("signup-user_collides"))
	require.NoError(t, err)

	_, _, err = ensureAccount(ctx, env.client, "user_collides", "Ada", "ada@example.com")
	require.ErrorIs(t, err, alguna.ErrUnprocessable)
	require.ErrorContains(t, err, "creating the account")
	require.ErrorContains(t, err, "already used for a different request")
	require.Empty(t, accountsWithAlias(t, env, "user_collides"))
}

// TestSignUpFinishesAfterAnOutage: Alguna fails during sign-up, after the
// account is made and before the trial grant. The user is told, signed in,
// and offered to try again, which finishes the sign-up on the same account
// with one grant.
func TestSignUpFinishesAfterAnOutage(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	o := &outage{match: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/credits/grants")
	}}
	o.down.Store(true)
	app := serveApp(t, env, clientWithOutage(t, env, o), env.client)

	v := newVisitor(app.url)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, app.url+"/signup", strings.NewReader(url.Values{"name": {"Ada"}, "email": {"ada@example.com"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := v.http.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.Contains(t, string(body), `id="signup-failed"`)
	require.Contains(t, string(body), `<form method="post" action="/signup/finish"><button id="finish-signup" type="submit">Try again</button></form>`)

	u := onlyUser(t, app.store)
	require.NotEmpty(t, u.AccountID, "the account was made before the outage")
	m := me(t, v)
	require.Equal(t, StateSettingUp, m.State, "signed in, with the sign-up unfinished")
	status, page := dashboard(t, v)
	require.Equal(t, http.StatusOK, status)
	require.True(t, hasID(page, "finish-signup"), page)
	require.False(t, hasID(page, "run"))
	action, err := v.postJSON(ctx, "/action")
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, action.StatusCode, "an action before the trial is granted")

	o.down.Store(false)
	resp2, err := v.postForm(ctx, "/signup/finish", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, resp2.StatusCode)
	require.Equal(t, "/dashboard", resp2.Location)
	require.Equal(t, []string{u.AccountID}, accountsWithAlias(t, env, u.ID))
	requireOneTrial(t, env, u.AccountID)
	m = me(t, v)
	require.Equal(t, StateTrial, m.State)
	require.True(t, m.Available.Equal(trialCredits))
}

// TestSignUpRefusesBadInput: a form the app cannot sign up with is refused
// with 400 before anything is stored or sent to Alguna.
func TestSignUpRefusesBadInput(t *testing.T) {
	env, inst := startApp(t)
	long := strings.Repeat("é", maxFieldLen+1)
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"nothing", url.Values{}},
		{"no email", url.Values{"name": {"Ada"}}},
		{"blank name", url.Values{"name": {"   "}, "email": {"ada@example.com"}}},
		{"invalid UTF-8", url.Values{"name": {"Ada\xff"}, "email": {"ada@example.com"}}},
		{"a name too long", url.Values{"name": {long}, "email": {"ada@example.com"}}},
		{"an email too long", url.Values{"name": {"Ada"}, "email": {long + "@example.com"}}},
		{"not an email address", url.Values{"name": {"Ada"}, "email": {"not an email"}}},
		{"an address with a name", url.Values{"name": {"Ada"}, "email": {"Ada <ada@example.com>"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := newVisitor(inst.publicURL).postForm(context.Background(), "/signup", tc.form)
			require.NoError(t, err)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		})
	}
	inst.store.mu.Lock()
	require.Empty(t, inst.store.users)
	inst.store.mu.Unlock()
	for _, r := range env.fake.Requests() {
		require.NotEqual(t, "/accounts", r.Path, "an account was created")
	}
	// Exactly maxFieldLen characters are fine.
	signUp(t, inst.publicURL, strings.Repeat("é", maxFieldLen), "ada@example.com")
}
