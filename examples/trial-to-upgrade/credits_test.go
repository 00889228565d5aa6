package main

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// TestTrialLimitHoldsUnderConcurrency sends the trial user's actions in
// waves of 20 at once, as a script would. Alguna meters events
// asynchronously, so every request of a wave can see the same balance: the
// app must still let no more than the 50 trial credits be spent, and must
// let all of them be.
func TestTrialLimitHoldsUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	env, inst := startApp(t)
	v := signUp(t, inst.publicURL, "Ada", "ada@example.com")
	me, err := v.me(ctx)
	require.NoError(t, err)

	const waves, perWave = 3, 20
	statuses := map[int]int{}
	for range waves {
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range perWave {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				resp, err := v.postJSON(ctx, "/action")
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					statuses[-1]++
					return
				}
				statuses[resp.StatusCode]++
			}()
		}
		close(start)
		wg.Wait()
	}
	allowed := int(trialCredits.Div(actionCost).IntPart())
	require.Equal(t, map[int]int{http.StatusOK: allowed, http.StatusPaymentRequired: waves*perWave - allowed}, statuses)

	// What Alguna metered: exactly the grant, nothing past it.
	require.NoError(t, inst.events.Flush(ctx))
	sent := 0
	for _, e := range env.fake.Events() {
		if e.Account == me.AccountID {
			sent++
		}
	}
	require.Equal(t, allowed, sent)
	require.True(t, env.fake.Usage(me.AccountID, alguna.CreditTypeUnits).Equal(trialCredits), "usage %s", env.fake.Usage(me.AccountID, alguna.CreditTypeUnits))
	require.True(t, env.fake.Overage(me.AccountID, alguna.CreditTypeUnits).IsZero(), "overage %s", env.fake.Overage(me.AccountID, alguna.CreditTypeUnits))
	require.True(t, env.fake.Balance(me.AccountID, alguna.CreditTypeUnits).IsZero())

	me, err = v.me(ctx)
	require.NoError(t, err)
	require.Equal(t, StateTrialUsedUp, me.State)
	require.True(t, me.Available.IsZero(), "available %s", me.Available)
	require.Equal(t, decimal.Zero.String(), me.Credits.Remaining.String())
	require.Equal(t, trialCredits.String(), me.Credits.Consumed.String())
}

// TestSpendable pins the arithmetic the trial limit rests on: what
// Alguna's grants have left, less what is reserved and not yet metered.
func TestSpendable(t *testing.T) {
	d := decimal.NewFromInt
	for _, tc := range []struct {
		name                          string
		remaining, consumed, reserved decimal.Decimal
		want                          decimal.Decimal
	}{
		{"new trial", d(50), d(0), d(0), d(50)},
		{"reserved, none metered yet", d(50), d(0), d(10), d(40)},
		{"reserved, half metered", d(45), d(5), d(10), d(40)},
		{"reserved, all metered", d(40), d(10), d(10), d(40)},
		{"all spent, none metered yet", d(50), d(0), d(50), d(0)},
		{"all spent and metered", d(0), d(50), d(50), d(0)},
		// A grant from Alguna's dashboard is in the grant list: the user
		// may spend it.
		{"a grant from the dashboard", d(60), d(0), d(10), d(50)},
		{"a grant from the dashboard, some metered", d(50), d(10), d(10), d(50)},
		// A trial that expired with 20 of 50 left, 30 metered of 40
		// reserved, and a 20 top-up: what expired is neither remaining nor
		// consumed, so it does not pass for the 10 still to be metered.
		{"the rest of an expired grant", d(20), d(30), d(40), d(10)},
		// A refunded event Alguna did meter after all.
		{"metered more than reserved", d(40), d(10), d(9), d(40)},
		{"never below zero", d(50), d(0), d(60), d(0)},
		{"fractions", decimal.RequireFromString("49.9"), decimal.RequireFromString("0.1"), decimal.RequireFromString("0.25"), decimal.RequireFromString("49.75")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Credits{Remaining: tc.remaining, Consumed: tc.consumed}
			got := c.Spendable(tc.reserved)
			require.True(t, tc.want.Equal(got), "got %s, want %s", got, tc.want)
		})
	}
}

// TestUnsentUsageReleasesCredits: an action whose usage event cannot be
// queued fails, and gives its credits back.
func TestUnsentUsageReleasesCredits(t *testing.T) {
	ctx := context.Background()
	_, inst := startApp(t)
	v := signUp(t, inst.publicURL, "Ada", "ada@example.com")
	resp, err := v.postJSON(ctx, "/action")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, inst.events.Close(ctx))

	resp, err = v.postJSON(ctx, "/action")
	require.NoError(t, err)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	u := onlyUser(t, inst.store)
	require.True(t, u.Reserved.Equal(actionCost), "reserved %s: the failed action kept its credits", u.Reserved)
	me, err := v.me(ctx)
	require.NoError(t, err)
	require.True(t, me.Available.Equal(trialCredits.Sub(actionCost)), "available %s", me.Available)
}

// TestRefusedUsageReleasesCredits: usage events Alguna refuses for good are
// never metered, so the credits they reserved are the user's again.
func TestRefusedUsageReleasesCredits(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	// Events go out with a key Alguna does not know: 401, for good.
	refused, err := alguna.NewClient("not-the-api-key", alguna.WithBaseURL(env.fake.URL))
	require.NoError(t, err)
	app := serveApp(t, env, env.client, refused)

	v := signUp(t, app.url, "Ada", "ada@example.com")
	const actions = 5
	for range actions {
		resp, err := v.postJSON(ctx, "/action")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.NoError(t, app.events.Flush(ctx))
	require.Equal(t, int64(actions), app.events.Stats().Failed)

	u := onlyUser(t, app.store)
	require.True(t, u.Reserved.IsZero(), "reserved %s after every event failed", u.Reserved)
	me, err := v.me(ctx)
	require.NoError(t, err)
	require.True(t, me.Available.Equal(trialCredits), "available %s", me.Available)
	require.Empty(t, env.fake.Events())
}
