package algunatest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The hosted checkout's test cards. Any other number that passes the Luhn
// check pays too: the fake charges nothing, so it has no reason to refuse
// one. Only the declined card is refused after validation.
const (
	// testCardNumber is what the checkout form is pre-filled with, so that
	// a browser test that only clicks Pay completes the checkout.
	testCardNumber = "4242 4242 4242 4242"
	// declinedCardDigits is the card that is always declined, for testing
	// a failed payment.
	declinedCardDigits = "4000000000000002"
)

// The checkout form's field names.
const (
	fieldCardName   = "cardName"
	fieldCardNumber = "cardNumber"
	fieldCardExpiry = "cardExpiry"
	fieldCardCVC    = "cardCvc"
)

const (
	// maxFieldRunes bounds what a field may hold and what the page echoes
	// back of a refused value.
	maxFieldRunes = 100
	// maxExpiryYears is how far ahead an expiry date may lie; cards are
	// issued for a few years, so a later one is a typing mistake.
	maxExpiryYears = 20
)

// cardForm is what the checkout form holds: the card as typed.
type cardForm struct {
	Name   string
	Number string
	Expiry string
	CVC    string
}

// cardErrors holds one message per refused field; empty means the field is
// fine.
type cardErrors struct {
	Name   string
	Number string
	Expiry string
	CVC    string
}

// Any reports whether any field was refused.
func (e cardErrors) Any() bool {
	return e.Name != "" || e.Number != "" || e.Expiry != "" || e.CVC != ""
}

// readCardForm reads the checkout form posted to the pay URL. present is
// false when the body has none of the card fields: a script or test posting
// to the pay URL directly pays with the test card, as CompleteCheckout does,
// while a browser submitting the form always sends every field, empty or
// not, and so is validated.
func readCardForm(w http.ResponseWriter, r *http.Request) (card cardForm, present bool, err error) {
	f, err := readForm(w, r)
	if err != nil {
		return cardForm{}, false, err
	}
	for _, k := range []string{fieldCardName, fieldCardNumber, fieldCardExpiry, fieldCardCVC} {
		if _, ok := f[k]; ok {
			present = true
		}
	}
	return cardForm{
		Name:   f.Get(fieldCardName),
		Number: f.Get(fieldCardNumber),
		Expiry: f.Get(fieldCardExpiry),
		CVC:    f.Get(fieldCardCVC),
	}, present, nil
}

// echo is the form as the page shows it again after a refusal: valid UTF-8
// and no longer than a field may be, whatever was posted.
func (c cardForm) echo() cardForm {
	clean := func(s string) string {
		s = strings.ToValidUTF8(s, "\uFFFD")
		if utf8.RuneCountInString(s) > maxFieldRunes {
			s = string([]rune(s)[:maxFieldRunes])
		}
		return s
	}
	return cardForm{Name: clean(c.Name), Number: clean(c.Number), Expiry: clean(c.Expiry), CVC: clean(c.CVC)}
}

// validateCard checks the card as a payment form would before sending it
// to a processor. now decides which expiry dates are past.
func validateCard(c cardForm, now time.Time) cardErrors {
	return cardErrors{
		Name:   validateCardName(c.Name),
		Number: validateCardNumber(c.Number),
		Expiry: validateCardExpiry(c.Expiry, now),
		CVC:    validateCardCVC(c.CVC),
	}
}

func validateCardName(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "Enter the name on the card."
	case !utf8.ValidString(s):
		return "The name on the card is not valid text."
	case utf8.RuneCountInString(s) > maxFieldRunes:
		return fmt.Sprintf("The name on the card can have at most %d characters.", maxFieldRunes)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "The name on the card contains characters that cannot be printed."
	}
	return ""
}

// cardDigits is a card number without the spaces and dashes people type
// between its groups; ok is false when anything else is in it.
func cardDigits(s string) (digits string, ok bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return "", false
		}
	}
	return b.String(), true
}

func validateCardNumber(s string) string {
	digits, ok := cardDigits(s)
	switch {
	case strings.TrimSpace(s) == "":
		return "Enter your card number."
	case !ok:
		return "A card number has only digits."
	case len(digits) < 12:
		return "Your card number is incomplete."
	case len(digits) > 19:
		return "Your card number has too many digits."
	case !luhnValid(digits):
		return "Your card number is not valid. Check it for typing mistakes."
	}
	return ""
}

// luhnValid reports whether a string of digits passes the Luhn check that
// every card number's last digit makes true.
func luhnValid(digits string) bool {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func validateCardExpiry(s string, now time.Time) string {
	if strings.TrimSpace(s) == "" {
		return "Enter the card's expiry date."
	}
	year, month, ok := parseCardExpiry(s, now)
	if !ok {
		return "Enter the expiry date as MM / YY."
	}
	if year < now.Year() || (year == now.Year() && month < now.Month()) {
		return "Your card has expired."
	}
	if year > now.Year()+maxExpiryYears {
		return "The expiry year is too far in the future."
	}
	return ""
}

// parseCardExpiry reads MM/YY, MM/YYYY, MMYY or MMYYYY, with spaces, "/"
// or "-" anywhere between. A two-digit year is the one within 50 years of
// now, so the pre-filled date stays valid whatever the clock says.
func parseCardExpiry(s string, now time.Time) (year int, month time.Month, ok bool) {
	var mm, yy string
	compact := strings.Map(func(r rune) rune {
		if r == ' ' {
			return -1
		}
		return r
	}, s)
	if i := strings.IndexAny(compact, "/-"); i >= 0 {
		mm, yy = compact[:i], compact[i+1:]
	} else if len(compact) == 4 || len(compact) == 6 {
		mm, yy = compact[:2], compact[2:]
	} else {
		return 0, 0, false
	}
	if len(mm) < 1 || len(mm) > 2 || (len(yy) != 2 && len(yy) != 4) || !allDigits(mm) || !allDigits(yy) {
		return 0, 0, false
	}
	m, _ := strconv.Atoi(mm)
	y, _ := strconv.Atoi(yy)
	if m < 1 || m > 12 {
		return 0, 0, false
	}
	if len(yy) == 2 {
		y += now.Year() / 100 * 100
		switch {
		case y < now.Year()-50:
			y += 100
		case y >= now.Year()+50:
			y -= 100
		}
	}
	return y, time.Month(m), true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func validateCardCVC(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "Enter the card's security code."
	case !allDigits(s) || len(s) < 3 || len(s) > 4:
		return "The security code is the 3 or 4 digits on your card."
	}
	return ""
}

// testCard is the card the checkout form is pre-filled with: the account's
// name (unless the form would refuse it), the test card number, an expiry
// date five years after now and any security code.
func testCard(name string, now time.Time) cardForm {
	if validateCardName(name) != "" {
		name = "Test Cardholder"
	}
	return cardForm{
		Name:   name,
		Number: testCardNumber,
		Expiry: fmt.Sprintf("12 / %02d", (now.Year()+5)%100),
		CVC:    "123",
	}
}

// declined reports whether the card is the test card that is always
// declined. It is asked only of a card that passed validation.
func (c cardForm) declined() bool {
	digits, _ := cardDigits(c.Number)
	return digits == declinedCardDigits
}
