// Package numlimit bounds the size of the numbers the SDK sends and the fake
// Alguna accepts. Without a bound, one property such as 1e100000000 would
// make whoever adds it up do unbounded decimal arithmetic, and a
// decimal.Decimal with an exponent in the millions is written out digit by
// digit. The SDK refuses what the fake would refuse, so both use this one
// rule.
package numlimit

import (
	"fmt"
	"math/big"

	"github.com/shopspring/decimal"
)

const (
	// MaxDigits is the most digits a number may have, not counting its
	// sign, decimal point and exponent.
	MaxDigits = 100
	// MaxExponent bounds the exponent of a number written with one
	// ("1.5e300"), in both directions. Every finite float64 fits.
	MaxExponent = 400
)

// Text reports whether the number written as s fits the bound: nil if it
// does, an error that says why if not. s is a JSON number or a decimal
// string such as "+1.50E-3"; Text judges only its size and leaves the
// grammar to the caller's parser. Its cost is linear in len(s) however far
// s is over the bound.
func Text(s string) error {
	digits := 0
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == 'e' || c == 'E' {
			break
		}
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	if digits > MaxDigits {
		return fmt.Errorf("number has %d digits, more than %d", digits, MaxDigits)
	}
	if i == len(s) {
		return nil
	}
	i++ // the 'e'
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	exp := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			break
		}
		exp = exp*10 + int(c-'0')
		if exp > MaxExponent {
			return fmt.Errorf("number's exponent is beyond ±%d", MaxExponent)
		}
	}
	return nil
}

// Decimal reports whether d, written out as d.String() writes it (in full,
// without an exponent), fits the bound. It never writes d out when d is far
// over the bound, so that checking a huge number costs nothing.
func Decimal(d decimal.Decimal) error {
	coeff := d.Coefficient()
	if coeff.Sign() == 0 {
		return nil
	}
	exp := int64(d.Exponent())
	// Cheap refusals first. A coefficient over 4096 bits has more than
	// 1,200 digits; a positive exponent adds that many zeros; a negative
	// one beyond what trimming trailing zeros can take back leaves too
	// many fraction digits.
	if coeff.BitLen() > maxCoefficientBits || exp > MaxDigits || exp < -(maxCoefficientDigits+MaxDigits) {
		return fmt.Errorf("number written in full has more than %d digits", MaxDigits)
	}
	// Within reach of the bound: count exactly, as String writes it, with
	// the fraction's trailing zeros trimmed.
	s := new(big.Int).Abs(coeff).String()
	for exp < 0 && len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
		exp++
	}
	if n := written(int64(len(s)), exp); n > MaxDigits {
		return fmt.Errorf("number written in full has %d digits, more than %d", n, MaxDigits)
	}
	return nil
}

const (
	maxCoefficientBits   = 4096
	maxCoefficientDigits = 1234 // the digits of 2^4096
)

// written is how many digits a coefficient of n digits times 10^exp has
// when written in full.
func written(n, exp int64) int64 {
	if exp >= 0 {
		return n + exp
	}
	intDigits := max(n+exp, 1)
	return intDigits + -exp
}
