package alguna

// CreditType names a kind of credit an account holds.
type CreditType string

// The credit types Alguna knows.
const (
	// CreditTypeUnits is consumed by metered usage (API calls, runs, minutes).
	CreditTypeUnits CreditType = "units"
	// CreditTypeMonetary pays invoices.
	CreditTypeMonetary CreditType = "monetary"
)

// Valid reports whether t is a credit type Alguna knows.
func (t CreditType) Valid() bool {
	return t == CreditTypeUnits || t == CreditTypeMonetary
}
