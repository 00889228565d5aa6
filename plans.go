package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	"github.com/alguna/alguna-go/internal/jsonscan"
)

// PlansService reads the plans your product sells, as configured in
// Alguna: the guide's "product and plan details" that you need not store.
type PlansService struct {
	owner *Client
}

// client is the Client the service sends through; see AccountsService.
func (s *PlansService) client() *Client {
	if s == nil {
		return nil
	}
	return s.owner
}

// Plan is a plan customers subscribe to. Alguna's reference documents its
// id, name, description and currency; the rest of the answer (its prices,
// among others) is kept as it came in Raw.
type Plan struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Currency    string `json:"currency,omitempty"`
	// Raw is the plan exactly as the API answered it.
	Raw json.RawMessage `json:"-"`
}

func (p *Plan) listID() string    { return p.ID }
func (*Plan) listAccount() string { return "" }

func (p *Plan) check() error {
	if p.ID == "" {
		return errors.New("plan has no id")
	}
	return nil
}

// UnmarshalJSON decodes the documented fields and keeps the whole answer in
// Raw.
func (p *Plan) UnmarshalJSON(b []byte) error {
	type plain Plan
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// planFromJSON reads a listed plan from its JSON, which the page's decoding
// has already checked: a walk over its top level for the documented fields
// costs far less than decoding it a second time.
func planFromJSON(raw *json.RawMessage) (*Plan, error) {
	p := &Plan{Raw: *raw}
	err := jsonscan.Object(*raw, func(key, value []byte) error {
		var dst *string
		switch {
		case jsonscan.KeyIs(key, "id"):
			dst = &p.ID
		case jsonscan.KeyIs(key, "name"):
			dst = &p.Name
		case jsonscan.KeyIs(key, "description"):
			dst = &p.Description
		case jsonscan.KeyIs(key, "currency"):
			dst = &p.Currency
		default:
			return nil
		}
		if jsonscan.IsNull(value) {
			return nil
		}
		v, err := jsonscan.Unquote(value)
		if err != nil {
			return fmt.Errorf("plan field %q is not a string", key)
		}
		*dst = v
		return nil
	})
	return p, err
}

// PlanList is one page of plans.
type PlanList struct {
	// PageCount is the number of pages, when the API says.
	PageCount int
	Data      []*Plan
}

func (l *PlanList) page() ([]*Plan, int) { return l.Data, l.PageCount }

// The plans endpoints.
var (
	listPlans = get("/plans")
	getPlan   = get("/plans/{id}")
)

// List fetches one page of plans.
//
// GET /plans?page={page}&limit={limit}&sort={sort}
func (s *PlansService) List(ctx context.Context, o *ListOptions, opts ...RequestOption) (*PlanList, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	items, pageCount, err := fetchPage(ctx, s.client(), listPlans.with(), queryOf(o), "", opts, planFromJSON)
	if err != nil {
		return nil, err
	}
	return &PlanList{PageCount: pageCount, Data: items}, nil
}

// All walks every plan, page by page from o.Page, until the last page. An
// error ends the walk after it is yielded.
//
// GET /plans?page={page}&limit={limit}&sort={sort}
func (s *PlansService) All(ctx context.Context, o *ListOptions, opts ...RequestOption) iter.Seq2[*Plan, error] {
	return paginate[Plan](ctx, listPlans, o, func(ctx context.Context, page ListOptions) (*PlanList, error) {
		return s.List(ctx, &page, opts...)
	})
}

// Get fetches one plan.
//
// GET /plans/{id}
func (s *PlansService) Get(ctx context.Context, id string, opts ...RequestOption) (*Plan, error) {
	if id == "" {
		return nil, invalid("plan id is required")
	}
	var out Plan
	if err := s.client().do(ctx, getPlan.with(id), nil, nil, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}
