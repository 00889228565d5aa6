package alguna

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"unicode/utf8"
)

// This file is what every list shares: the page options, the two list shapes
// Alguna answers with, the check that a list filtered by account holds only
// that account's items, and the paginator behind every All method.

// ListOptions selects one page of a list.
type ListOptions struct {
	// Page is 1-based; zero means the first page.
	Page int `url:"page,omitempty"`
	// Limit is the page size: 5, 10, 25, 50 or 100. Zero uses Alguna's
	// default.
	Limit int `url:"limit,omitempty"`
	// Sort is "field:asc" or "field:desc".
	Sort string `url:"sort,omitempty"`
}

var sortPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*:(asc|desc)$`)

func (o *ListOptions) problems() problems {
	var p problems
	if o == nil {
		return p
	}
	if o.Page < 0 {
		p.add("page must not be negative, got %d", o.Page)
	}
	switch o.Limit {
	case 0, 5, 10, 25, 50, 100:
	default:
		p.add("limit must be 5, 10, 25, 50 or 100, got %d", o.Limit)
	}
	if o.Sort != "" && !sortPattern.MatchString(o.Sort) {
		p.add("sort must look like \"field:asc\" or \"field:desc\", got %q", o.Sort)
	}
	return p
}

func (o *ListOptions) validate() error { return o.problems().err() }

// filterProblems checks a list's page options and its account and status
// filters, which lists of an account's things share.
func filterProblems(o *ListOptions, accountID, status string) problems {
	ps := o.problems()
	if !utf8.ValidString(accountID) {
		ps.add("account id is not valid UTF-8")
	}
	if !utf8.ValidString(status) {
		ps.add("status is not valid UTF-8")
	}
	return ps
}

// listed is what the paginator needs of an item: its id, to notice a server
// that repeats a page, and the account it belongs to ("" for items that
// belong to none, such as plans).
type listed[T any] interface {
	*T
	listID() string
	listAccount() string
}

// pageWire is one page as the API answers it: {"pageCount": N, "data":
// [...]} for accounts, {"items": [...]} elsewhere. It is decoded by
// encoding/json directly, so a page is scanned once.
type pageWire[T any] struct {
	PageCount int  `json:"pageCount"`
	Data      []*T `json:"data"`
	Items     []*T `json:"items"`
}

func (p *pageWire[T]) check() error {
	if p.Data == nil && p.Items == nil {
		return errors.New(`list has neither "data" nor "items"`)
	}
	return nil
}

func (p *pageWire[T]) items() []*T {
	if p.Data != nil {
		return p.Data
	}
	return p.Items
}

// fetchPage gets one page of a list. When account is set, the list was
// filtered by it, and an item of any other account fails the call with
// ErrInvalidResponse: a filter the server ignored must never show one
// customer another's data.
//
// Items decode into W, which convert turns into the T the caller gets: a
// type with lenient fields decodes through a wire type of plain fields, so
// that a page is scanned once rather than once more per item inside an
// UnmarshalJSON.
func fetchPage[W, T any, PT listed[T]](ctx context.Context, c *Client, call call, q any, account string, opts []RequestOption, convert func(*W) (*T, error)) ([]*T, int, error) {
	var page pageWire[W]
	if err := c.do(ctx, call, q, nil, &page, opts); err != nil {
		return nil, 0, err
	}
	wires := page.items()
	items := make([]*T, len(wires))
	for i, w := range wires {
		if w == nil {
			return nil, 0, fmt.Errorf("alguna: %s %s: %w: item %d is null", call.method, call.path, ErrInvalidResponse, i)
		}
		it, err := convert(w)
		if err != nil {
			return nil, 0, fmt.Errorf("alguna: %s %s: %w: item %d: %w", call.method, call.path, ErrInvalidResponse, i, err)
		}
		items[i] = it
		if account != "" {
			if got := PT(it).listAccount(); got != account {
				return nil, 0, fmt.Errorf("alguna: %s %s: %w: the list filtered by account %q holds %s of account %q; "+
					"the filter takes an Alguna account id (resolve an alias with Accounts.Lookup)",
					call.method, call.path, ErrInvalidResponse, account, PT(it).listID(), got)
			}
		}
	}
	return items, page.PageCount, nil
}

// page is what a list's page gives the paginator: its items and the
// number of pages (0 when the API does not say).
type page[T any] interface {
	page() ([]*T, int)
}

// queryOf is p as a query to encode, or nil for no params, so that a nil
// params pointer sends no query rather than an empty one built by
// reflection.
func queryOf[P any](p *P) any {
	if p == nil {
		return nil
	}
	return p
}

// paginate walks a list page by page from first.Page (the first page when
// zero), yielding each item, until the last page: the page count when the
// API gives one, else an empty or short page. fetch is the service's List
// with the page options o. An error ends the walk after it is yielded.
func paginate[T any, PT listed[T], L page[T]](ctx context.Context, route endpoint, first *ListOptions, fetch func(ctx context.Context, o ListOptions) (L, error)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		var o ListOptions
		if first != nil {
			o = *first
		}
		if o.Page == 0 {
			o.Page = 1
		}
		var prevFirst string
		for {
			l, err := fetch(ctx, o)
			if err != nil {
				yield(nil, err)
				return
			}
			items, pageCount := l.page()
			// A server that ignores page would otherwise be walked forever.
			if len(items) > 0 && o.Page > 1 && PT(items[0]).listID() == prevFirst {
				yield(nil, fmt.Errorf("alguna: %s: %w: page %d repeats page %d", route, ErrInvalidResponse, o.Page, o.Page-1))
				return
			}
			if len(items) > 0 {
				prevFirst = PT(items[0]).listID()
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			switch {
			case len(items) == 0:
				return
			case pageCount > 0 && o.Page >= pageCount:
				return
			case pageCount <= 0 && o.Limit > 0 && len(items) < o.Limit:
				return
			}
			o.Page++
		}
	}
}
