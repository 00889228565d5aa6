package numlimit

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"0", true},
		{"-12.5", true},
		{"1500", true},
		{"1.7976931348623157e308", true},
		{"5e-324", true},
		{"1E+400", true},
		{"1e-400", true},
		{"1e401", false},
		{"1e-401", false},
		{"1e100000000", false},
		{"1e99999999999999999999999999", false},
		{strings.Repeat("9", 100), true},
		{strings.Repeat("9", 101), false},
		{"0." + strings.Repeat("0", 98) + "1", true},
		{"0." + strings.Repeat("0", 99) + "1", false},
	} {
		err := Text(tc.in)
		if tc.ok {
			require.NoError(t, err, tc.in)
		} else {
			require.Error(t, err, tc.in)
		}
	}
}

func TestDecimalAgreesWithText(t *testing.T) {
	for _, d := range []decimal.Decimal{
		decimal.Zero,
		decimal.NewFromInt(50),
		decimal.RequireFromString("12345678901234567890.000000001"),
		decimal.New(1, 99),
		decimal.New(1, 100),
		decimal.New(-1, 99),
		decimal.New(1, -99),
		decimal.New(1, -100),
		decimal.New(1000, -102), // written "0.00…01": trailing zeros trimmed
		decimal.New(1000, -103),
		decimal.New(123, 97),
		decimal.New(123, 98),
		decimal.RequireFromString(strings.Repeat("9", 100)),
		decimal.RequireFromString(strings.Repeat("9", 101)),
		decimal.RequireFromString("0." + strings.Repeat("1", 99)),
		decimal.RequireFromString("0." + strings.Repeat("1", 100)),
	} {
		want := Text(d.String())
		got := Decimal(d)
		require.Equal(t, want == nil, got == nil, "%s: Text says %v, Decimal says %v", d.String(), want, got)
	}
}

func TestDecimalHugeIsCheap(t *testing.T) {
	// Writing these out would take seconds and gigabytes; the check must
	// refuse them from their exponent alone.
	for _, d := range []decimal.Decimal{
		decimal.New(1, 2_000_000),
		decimal.New(1, 100_000_000),
		decimal.New(1, -100_000_000),
	} {
		require.Error(t, Decimal(d))
	}
}
