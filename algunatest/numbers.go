package algunatest

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go/internal/numlimit"
)

// Every number the fake reads from a request passes numlimit's bound before
// it is parsed, the same bound the SDK applies before sending. Without it,
// one property of 1e100000000 summed into a balance is unbounded decimal
// arithmetic, done under the server's lock.

// parseDecimal reads a decimal from text a client sent, within the bound.
func parseDecimal(text string) (decimal.Decimal, error) {
	if err := numlimit.Text(text); err != nil {
		return decimal.Decimal{}, err
	}
	return decimal.NewFromString(text)
}

// jsonDecimalText returns the text of a JSON value that holds a decimal:
// a number as written, or the contents of a string ("50").
func jsonDecimalText(raw json.RawMessage) (string, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", errors.New("not a number")
	}
	return n.String(), nil
}

// checkPropertyNumber bounds an event property value that metering could
// read as a number: a JSON number, or a string written as one ("2.5").
// Other text is not a number and has no such bound.
func checkPropertyNumber(v any) error {
	switch v := v.(type) {
	case json.Number:
		return numlimit.Text(v.String())
	case string:
		if isDecimalText(v) {
			return numlimit.Text(v)
		}
	}
	return nil
}

// isDecimalText reports whether s is written the way decimal.NewFromString
// reads a number: an optional sign, digits with at most one point, and an
// optional exponent. Its cost is linear in len(s).
func isDecimalText(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits, point := 0, false
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			digits++
			continue
		}
		if c == '.' && !point {
			point = true
			continue
		}
		break
	}
	if digits == 0 {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != 'e' && s[i] != 'E' {
		return false
	}
	i++
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkConfigDecimal bounds an amount a test configures (a flow's price, a
// plan's), so that the fake's own arithmetic stays bounded too.
func checkConfigDecimal(what string, d decimal.Decimal) error {
	if err := numlimit.Decimal(d); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
