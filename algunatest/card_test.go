package algunatest

import (
	"bytes"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pageForm reads the form with the given id as a browser would submit it:
// its method, its action resolved against base, and its fields with the
// values the page gives them.
func pageForm(t testing.TB, base, page, id string) (method, action string, fields url.Values) {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form id="` + regexp.QuoteMeta(id) + `" method="(get|post)" action="([^"]*)">(.*?)</form>`).FindStringSubmatch(page)
	require.NotNil(t, m, "no form %s on the page", id)
	fields = url.Values{}
	for _, input := range regexp.MustCompile(`<input [^>]*>`).FindAllString(m[3], -1) {
		name := regexp.MustCompile(`\sname="([^"]*)"`).FindStringSubmatch(input)
		value := regexp.MustCompile(`\svalue="([^"]*)"`).FindStringSubmatch(input)
		require.NotNil(t, name, "an input without a name: %s", input)
		v := ""
		if value != nil {
			v = html.UnescapeString(value[1])
		}
		fields.Add(html.UnescapeString(name[1]), v)
	}
	return m[1], base + html.UnescapeString(m[2]), fields
}

// postForm submits form fields as a browser does.
func postForm(t testing.TB, c *http.Client, url string, fields url.Values) rawResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(fields.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, c, req)
}

func TestValidateCard(t *testing.T) {
	now := time.Date(2025, 3, 15, 9, 0, 0, 0, time.UTC)
	good := cardForm{Name: "Ada Lovelace", Number: "4242 4242 4242 4242", Expiry: "03 / 25", CVC: "123"}
	tests := []struct {
		name string
		edit func(*cardForm)
		want cardErrors
	}{
		{"the test card", func(*cardForm) {}, cardErrors{}},
		{"digits only", func(c *cardForm) { c.Number = "4242424242424242" }, cardErrors{}},
		{"dashes", func(c *cardForm) { c.Number = "4242-4242-4242-4242" }, cardErrors{}},
		{"surrounding spaces", func(c *cardForm) { c.Number = "  4242 4242 4242 4242 " }, cardErrors{}},
		{"another valid number", func(c *cardForm) { c.Number = "5555 5555 5555 4444" }, cardErrors{}},
		{"fifteen digits", func(c *cardForm) { c.Number = "3782 822463 10005"; c.CVC = "1234" }, cardErrors{}},
		{"the declined card is valid", func(c *cardForm) { c.Number = "4000 0000 0000 0002" }, cardErrors{}},
		{"no number", func(c *cardForm) { c.Number = "  " }, cardErrors{Number: "Enter your card number."}},
		{"letters", func(c *cardForm) { c.Number = "4242 4242 4242 424x" }, cardErrors{Number: "A card number has only digits."}},
		{"full-width digits", func(c *cardForm) { c.Number = "４２４２４２４２４２４２４２４２" }, cardErrors{Number: "A card number has only digits."}},
		{"short", func(c *cardForm) { c.Number = "4242 4242 42" }, cardErrors{Number: "Your card number is incomplete."}},
		{"long", func(c *cardForm) { c.Number = strings.Repeat("4", 20) }, cardErrors{Number: "Your card number has too many digits."}},
		{"huge", func(c *cardForm) { c.Number = strings.Repeat("9", 10000) }, cardErrors{Number: "Your card number has too many digits."}},
		{"a typo", func(c *cardForm) { c.Number = "4242 4242 4242 4241" }, cardErrors{Number: "Your card number is not valid. Check it for typing mistakes."}},
		{"swapped digits", func(c *cardForm) { c.Number = "4242 4242 4242 2442" }, cardErrors{Number: "Your card number is not valid. Check it for typing mistakes."}},
		{"no expiry", func(c *cardForm) { c.Expiry = "" }, cardErrors{Expiry: "Enter the card's expiry date."}},
		{"expired last month", func(c *cardForm) { c.Expiry = "02/25" }, cardErrors{Expiry: "Your card has expired."}},
		{"expired last year", func(c *cardForm) { c.Expiry = "12 / 2024" }, cardErrors{Expiry: "Your card has expired."}},
		{"this month is still valid", func(c *cardForm) { c.Expiry = "0325" }, cardErrors{}},
		{"four-digit year", func(c *cardForm) { c.Expiry = "11/2030" }, cardErrors{}},
		{"one-digit month", func(c *cardForm) { c.Expiry = "7/30" }, cardErrors{}},
		{"dash", func(c *cardForm) { c.Expiry = "07-30" }, cardErrors{}},
		{"month 13", func(c *cardForm) { c.Expiry = "13/30" }, cardErrors{Expiry: "Enter the expiry date as MM / YY."}},
		{"month 0", func(c *cardForm) { c.Expiry = "00/30" }, cardErrors{Expiry: "Enter the expiry date as MM / YY."}},
		{"no year", func(c *cardForm) { c.Expiry = "12/" }, cardErrors{Expiry: "Enter the expiry date as MM / YY."}},
		{"three-digit year", func(c *cardForm) { c.Expiry = "12/300" }, cardErrors{Expiry: "Enter the expiry date as MM / YY."}},
		{"a date", func(c *cardForm) { c.Expiry = "2030-12-01" }, cardErrors{Expiry: "Enter the expiry date as MM / YY."}},
		{"words", func(c *cardForm) { c.Expiry = "next year" }, cardErrors{Expiry: "Enter the expiry date as MM / YY."}},
		{"signs", func(c *cardForm) { c.Expiry = "+1/+30" }, cardErrors{Expiry: "Enter the expiry date as MM / YY."}},
		{"too far ahead", func(c *cardForm) { c.Expiry = "01/2046" }, cardErrors{Expiry: "The expiry year is too far in the future."}},
		{"twenty years ahead", func(c *cardForm) { c.Expiry = "12/2045" }, cardErrors{}},
		{"no CVC", func(c *cardForm) { c.CVC = "" }, cardErrors{CVC: "Enter the card's security code."}},
		{"two-digit CVC", func(c *cardForm) { c.CVC = "12" }, cardErrors{CVC: "The security code is the 3 or 4 digits on your card."}},
		{"five-digit CVC", func(c *cardForm) { c.CVC = "12345" }, cardErrors{CVC: "The security code is the 3 or 4 digits on your card."}},
		{"CVC with letters", func(c *cardForm) { c.CVC = "12a" }, cardErrors{CVC: "The security code is the 3 or 4 digits on your card."}},
		{"no name", func(c *cardForm) { c.Name = " " }, cardErrors{Name: "Enter the name on the card."}},
		{"name in any script", func(c *cardForm) { c.Name = "Zoë Ωmega 山田" }, cardErrors{}},
		{"invalid UTF-8 name", func(c *cardForm) { c.Name = "Ada \xff" }, cardErrors{Name: "The name on the card is not valid text."}},
		{"control characters", func(c *cardForm) { c.Name = "Ada\x00Lovelace" }, cardErrors{Name: "The name on the card contains characters that cannot be printed."}},
		{"long name", func(c *cardForm) { c.Name = strings.Repeat("é", 101) }, cardErrors{Name: "The name on the card can have at most 100 characters."}},
		{"everything wrong", func(c *cardForm) { *c = cardForm{} }, cardErrors{
			Name: "Enter the name on the card.", Number: "Enter your card number.",
			Expiry: "Enter the card's expiry date.", CVC: "Enter the card's security code.",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			got := validateCard(c, now)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.want != cardErrors{}, got.Any())
		})
	}
}

// A two-digit year is read as the one nearest to now, so that the
// pre-filled expiry date is valid whatever year a test's clock is set to.
func TestCardExpiryYearWindow(t *testing.T) {
	tests := []struct {
		now    int
		expiry string
		year   int
	}{
		{2025, "12/30", 2030},
		{2025, "12/99", 1999},
		{2080, "12/05", 2105},
		{2099, "12/04", 2104},
		{2101, "12/99", 2099},
	}
	for _, tt := range tests {
		now := time.Date(tt.now, 6, 1, 0, 0, 0, 0, time.UTC)
		year, month, ok := parseCardExpiry(tt.expiry, now)
		require.True(t, ok)
		require.Equal(t, tt.year, year, "%s in %d", tt.expiry, tt.now)
		require.Equal(t, time.December, month)
		require.Empty(t, validateCard(testCard("Ada", now), now), "the pre-filled card in %d", tt.now)
	}
}

func TestTestCardName(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, "Acme Corp", testCard("Acme Corp", now).Name)
	for _, name := range []string{"", "  ", strings.Repeat("a", 101), "bad\x07bell"} {
		c := testCard(name, now)
		require.Equal(t, "Test Cardholder", c.Name, "an account name the form would refuse is not pre-filled")
		require.Empty(t, validateCard(c, now))
	}
}

// openCheckout creates a checkout session for a new account and returns
// the session and its page.
func openCheckout(t *testing.T, s *Server, name string) (checkoutSessionJSON, string) {
	t.Helper()
	id := createAccount(t, s, name, "")
	sess := decode[checkoutSessionJSON](t, call(t, s, http.MethodPost, "/customer-session/checkout", obj{
		"accountId": id, "successUrl": "https://yourapp.com/welcome",
	}))
	return sess, requireHTML(t, get(t, noRedirect(t), sess.URL), http.StatusOK)
}

// The checkout form asks for a whole card, labelled and with the
// attributes that let a browser fill it in and a phone show its number
// pad, and comes pre-filled with the test card.
func TestCheckoutFormFields(t *testing.T) {
	clock := newFakeClock(time.Date(2025, 3, 15, 9, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now))
	sess, page := openCheckout(t, s, "Ada Lovelace")

	method, action, fields := pageForm(t, s.URL, page, "checkout-form")
	require.Equal(t, "post", method)
	require.Equal(t, sess.URL+"/pay", action)
	require.Equal(t, url.Values{
		"cardNumber": {"4242 4242 4242 4242"},
		"cardExpiry": {"12 / 30"},
		"cardCvc":    {"123"},
		"cardName":   {"Ada Lovelace"},
	}, fields)

	inputs := map[string][]string{
		"card-number": {`name="cardNumber"`, `autocomplete="cc-number"`, `inputmode="numeric"`},
		"card-expiry": {`name="cardExpiry"`, `autocomplete="cc-exp"`, `inputmode="numeric"`, `placeholder="MM / YY"`},
		"card-cvc":    {`name="cardCvc"`, `autocomplete="cc-csc"`, `inputmode="numeric"`},
		"card-name":   {`name="cardName"`, `autocomplete="cc-name"`},
	}
	for id, attrs := range inputs {
		require.Contains(t, page, `<label for="`+id+`">`, "%s has a label", id)
		input := regexp.MustCompile(`<input id="` + id + `" [^>]*>`).FindString(page)
		require.NotEmpty(t, input, id)
		for _, a := range attrs {
			require.Contains(t, input, a, id)
		}
		require.NotContains(t, input, "aria-invalid", "nothing is refused before paying")
	}
	require.NotContains(t, page, `id="payment-error"`)
	require.Contains(t, page, `<button id="pay" class="primary block" type="submit">`)
	require.Contains(t, page, "<li><code>4242 4242 4242 4242</code> pays</li>")
	require.Contains(t, page, "<li><code>4000 0000 0000 0002</code> is declined</li>")
	require.NotRegexp(t, `(?i)(src|href)="(https?:)?//`, page, "no external assets")

	// The pre-filled form pays as it is.
	r := postForm(t, noRedirect(t), action, fields)
	require.Equal(t, http.StatusSeeOther, r.status, "body: %s", r.body)
	require.Equal(t, "https://yourapp.com/welcome", r.header.Get("Location"))
	require.Equal(t, "completed", s.CheckoutSessions()[0].Status)
}

// A card the form refuses shows the page again with a message at each
// refused field, keeps what was typed, and pays nothing.
func TestCheckoutRefusesInvalidCard(t *testing.T) {
	rc := newReceiver(t, nil)
	clock := newFakeClock(time.Date(2025, 3, 15, 9, 0, 0, 0, time.UTC))
	s := newServer(t, WithClock(clock.now))
	s.AddWebhookEndpoint(rc.URL)
	sess, page := openCheckout(t, s, "Acme")
	_, action, good := pageForm(t, s.URL, page, "checkout-form")
	c := noRedirect(t)

	with := func(field, value string) url.Values {
		v := url.Values{}
		for k, vs := range good {
			v[k] = append([]string(nil), vs...)
		}
		v.Set(field, value)
		return v
	}
	tests := []struct {
		name    string
		fields  url.Values
		inputID string
		message string
	}{
		{"malformed number", with("cardNumber", "4242 4242 4242 4241"), "card-number", "Your card number is not valid. Check it for typing mistakes."},
		{"past expiry", with("cardExpiry", "02 / 25"), "card-expiry", "Your card has expired."},
		{"bad CVC", with("cardCvc", "1"), "card-cvc", "The security code is the 3 or 4 digits on your card."},
		{"no name", with("cardName", ""), "card-name", "Enter the name on the card."},
		{"a field left out", func() url.Values { v := with("cardName", "x"); v.Del("cardCvc"); return v }(), "card-cvc", "Enter the card&#39;s security code."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := requireHTML(t, postForm(t, c, action, tt.fields), http.StatusUnprocessableEntity)
			require.Contains(t, page, `<p id="payment-error" class="alert" role="alert">Check the card details below. Nothing was charged.</p>`)
			require.Contains(t, page, `<p id="`+tt.inputID+`-error" class="field-error">`+tt.message+`</p>`)
			input := regexp.MustCompile(`<input id="` + tt.inputID + `" [^>]*>`).FindString(page)
			require.Contains(t, input, `aria-invalid="true" aria-describedby="`+tt.inputID+`-error"`)
			require.Equal(t, 1, strings.Count(page, `class="field-error"`), "only the refused field has a message")
			_, _, shown := pageForm(t, s.URL, page, "checkout-form")
			for k := range tt.fields {
				require.Equal(t, tt.fields.Get(k), shown.Get(k), "%s is kept as typed", k)
			}
			require.Contains(t, page, `data-status="open"`)
		})
	}

	t.Run("what was typed is escaped and bounded", func(t *testing.T) {
		typed := with("cardName", `"><script>alert(1)</script>`)
		typed.Set("cardNumber", "\xff\xfe"+strings.Repeat("9", 5000))
		page := requireHTML(t, postForm(t, c, action, typed), http.StatusUnprocessableEntity)
		require.NotContains(t, page, "<script>")
		require.Contains(t, page, `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`)
		_, _, shown := pageForm(t, s.URL, page, "checkout-form")
		require.Equal(t, "\uFFFD"+strings.Repeat("9", maxFieldRunes-1), shown.Get("cardNumber"))
		require.Contains(t, page, "A card number has only digits.")
	})

	t.Run("a multipart form is read too", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range with("cardExpiry", "01/20") {
			require.NoError(t, mw.WriteField(k, v[0]))
		}
		require.NoError(t, mw.Close())
		req, err := http.NewRequest(http.MethodPost, action, &body)
		require.NoError(t, err)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		page := requireHTML(t, send(t, c, req), http.StatusUnprocessableEntity)
		require.Contains(t, page, `<p id="card-expiry-error" class="field-error">Your card has expired.</p>`)
	})

	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Empty(t, rc.got(), "a refused card sends nothing")
	require.Equal(t, "open", s.CheckoutSessions()[0].Status)

	// After the refusals, the corrected card pays.
	r := postForm(t, c, action, good)
	require.Equal(t, http.StatusSeeOther, r.status, "body: %s", r.body)
	require.Equal(t, "completed", s.CheckoutSessions()[0].Status)
	require.Equal(t, sess.CheckoutSessionID, s.CheckoutSessions()[0].ID)
}

func TestCheckoutDeclinedCard(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newServer(t)
	s.AddWebhookEndpoint(rc.URL)
	_, page := openCheckout(t, s, "Acme")
	_, action, fields := pageForm(t, s.URL, page, "checkout-form")
	fields.Set("cardNumber", "4000 0000 0000 0002")

	page = requireHTML(t, postForm(t, noRedirect(t), action, fields), http.StatusPaymentRequired)
	require.Contains(t, page, `<p id="payment-error" class="alert" role="alert">Your card was declined. Nothing was charged; try another card.</p>`)
	require.NotContains(t, page, `class="field-error"`)
	require.NotContains(t, page, `aria-invalid="true" aria-describedby`)
	require.NoError(t, s.FlushWebhooks(ctxTimeout(t)))
	require.Empty(t, rc.got())
	require.Equal(t, "open", s.CheckoutSessions()[0].Status)
}

// A POST to the pay URL without any card field, as a script or an older
// test sends, pays with the test card; it is no way around the form's
// validation, since a browser always sends every field of the form.
func TestCheckoutPayWithoutCardFields(t *testing.T) {
	s := newServer(t)
	sess, _ := openCheckout(t, s, "Acme")
	r := post(t, noRedirect(t), sess.URL+"/pay?cardNumber=1")
	require.Equal(t, http.StatusSeeOther, r.status, "body: %s", r.body)
	require.Equal(t, "completed", s.CheckoutSessions()[0].Status)
}

func TestCheckoutPayBadForms(t *testing.T) {
	s := newServer(t)
	sess, _ := openCheckout(t, s, "Acme")
	c := noRedirect(t)
	for name, body := range map[string]string{
		"too large":       "cardNumber=" + strings.Repeat("4", maxFormBytes),
		"invalid escapes": "cardNumber=%zz",
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, sess.URL+"/pay", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			page := requireHTML(t, send(t, c, req), http.StatusBadRequest)
			require.Contains(t, page, "Payment form could not be read")
		})
	}
	require.Equal(t, "open", s.CheckoutSessions()[0].Status)
}

// A session that is unknown or paid answers the same whatever the card.
func TestCheckoutRefusalAfterPaying(t *testing.T) {
	s := newServer(t)
	sess, page := openCheckout(t, s, "Acme")
	_, action, fields := pageForm(t, s.URL, page, "checkout-form")
	c := noRedirect(t)
	require.Equal(t, http.StatusSeeOther, postForm(t, c, action, fields).status)

	fields.Set("cardNumber", "1")
	require.Contains(t, requireHTML(t, postForm(t, c, action, fields), http.StatusConflict), "already been completed")
	requireHTML(t, postForm(t, c, s.URL+"/checkout/session/chk_nope/pay", fields), http.StatusNotFound)
	require.Equal(t, sess.CheckoutSessionID, s.CheckoutSessions()[0].ID)
	require.Len(t, s.CheckoutSessions(), 1)
}
