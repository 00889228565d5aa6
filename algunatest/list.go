package algunatest

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Page sizes: Alguna offers 5, 10, 25, 50 and 100 and cuts larger limits to
// 100; the fake takes any limit from 1 and cuts it the same way.
const (
	defaultPageLimit = 10
	maxPageLimit     = 100
)

// pageQuery is the page and limit of a list call.
type pageQuery struct {
	page  int // 1-based
	limit int // 1 to maxPageLimit
}

// parsePageQuery reads ?page= and ?limit=. A page number too large for an
// int is refused; one merely past the end is an empty page (see pageBounds).
func parsePageQuery(q url.Values) (pageQuery, error) {
	page, err := positiveParam("page", q.Get("page"), 1)
	if err != nil {
		return pageQuery{}, err
	}
	limit, err := positiveParam("limit", q.Get("limit"), defaultPageLimit)
	if err != nil {
		return pageQuery{}, err
	}
	return pageQuery{page: page, limit: min(limit, maxPageLimit)}, nil
}

// positiveParam parses an optional positive integer query parameter.
func positiveParam(name, v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	var numErr *strconv.NumError
	switch {
	case errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange):
		return 0, errors.New(name + " must be a positive integer no larger than " + strconv.Itoa(maxInt) + ", got " + quoteShort(v))
	case err != nil || n < 1:
		return 0, errors.New(name + " must be a positive integer, got " + quoteShort(v))
	}
	return n, nil
}

const maxInt = int(^uint(0) >> 1)

// pageCount is how many pages n items fill.
func (p pageQuery) pageCount(n int) int {
	return ceilDiv(n, p.limit)
}

// bounds returns the slice bounds of the page among n items: empty when the
// page is past the end. It never multiplies the page number before knowing
// the product is small, so that page=9223372036854775807 cannot overflow.
func (p pageQuery) bounds(n int) (int, int) {
	if p.page-1 >= p.pageCount(n) {
		return n, n
	}
	start := (p.page - 1) * p.limit // < n + limit: page-1 < ⌈n/limit⌉
	return start, min(start+p.limit, n)
}

// pageOf returns the page's share of items.
func pageOf[T any](items []T, p pageQuery) []T {
	start, end := p.bounds(len(items))
	return items[start:end]
}

// quoteShort quotes a value for an error detail, cut short so that a
// megabyte of query string does not come back in the answer.
func quoteShort(v string) string {
	if cut, ok := cutShort(v); ok {
		return strconv.Quote(cut) + "…"
	}
	return strconv.Quote(v)
}

// shorten is quoteShort for values shown unquoted, such as ids.
func shorten(v string) string {
	if cut, ok := cutShort(v); ok {
		return cut + "…"
	}
	return v
}

// cutShort cuts v at a rune boundary near maxShown bytes, reporting whether
// it had to.
func cutShort(v string) (string, bool) {
	const maxShown = 64
	if len(v) <= maxShown {
		return v, false
	}
	cut := maxShown
	for cut > 0 && !isRuneStart(v[cut]) {
		cut--
	}
	return v[:cut], true
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// sortOrder turns "field:asc|desc" into a comparison among the fields a list
// can be sorted by; an empty sort is def.
func sortOrder[T any](sort, def string, fields map[string]func(a, b T) int, names string) (func(a, b T) int, error) {
	if sort == "" {
		sort = def
	}
	field, dir, _ := strings.Cut(sort, ":")
	if dir == "" {
		dir = "asc"
	}
	by, ok := fields[field]
	if !ok {
		return nil, errors.New("sort field must be one of " + names + "; got " + quoteShort(field))
	}
	switch dir {
	case "asc":
		return by, nil
	case "desc":
		return func(a, b T) int { return by(b, a) }, nil
	}
	return nil, errors.New("sort direction must be asc or desc; got " + quoteShort(dir))
}
