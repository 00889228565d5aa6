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

// checkPropertyNumber bounds an event property that is a JSON number. A
// string is never refused, whatever it holds, as the SDK sends any string:
// one written as a number too large for the bound ("1e100000000") is simply
// not read as a number when metering sums or compares (see propertyNumber).
func checkPropertyNumber(v any) error {
	if n, ok := v.(json.Number); ok {
		return numlimit.Text(n.String())
	}
	return nil
}

// checkConfigDecimal bounds an amount a test configures (a flow's price, a
// plan's), so that the fake's own arithmetic stays bounded too.
func checkConfigDecimal(what string, d decimal.Decimal) error {
	if err := numlimit.Decimal(d); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
