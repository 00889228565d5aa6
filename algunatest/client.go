package algunatest

import (
	"net/http"
	"time"

	"github.com/alguna/alguna-go"
)

// Client returns an SDK client that talks to the server: its base URL and
// checkout base URL are the server's URL and it authenticates with APIKey.
//
// Two defaults differ from a production client, and opts may override both:
// retries wait 1–50ms instead of the SDK's 0.5–30s, so that tests with
// injected faults stay fast; and requests go through a transport the server
// owns, whose connections Close shuts, so that no connection outlives the
// server. Client panics if an option is invalid.
func (s *Server) Client(opts ...alguna.Option) *alguna.Client {
	defaults := []alguna.Option{
		alguna.WithBaseURL(s.URL),
		alguna.WithCheckoutBaseURL(s.URL),
		alguna.WithHTTPClient(&http.Client{Transport: s.clientTransport, Timeout: 30 * time.Second}),
		alguna.WithRetryWait(time.Millisecond, 50*time.Millisecond),
	}
	c, err := alguna.NewClient(s.APIKey, append(defaults, opts...)...)
	if err != nil {
		panic("algunatest: " + err.Error())
	}
	return c
}
