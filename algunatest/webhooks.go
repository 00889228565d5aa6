package algunatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"
)

type webhookEndpoint struct {
	url   string
	types map[string]bool // nil: every type
}

func (e *webhookEndpoint) wants(eventType string) bool {
	return e.types == nil || e.types[eventType]
}

// AddWebhookEndpoint subscribes url to the webhook events of the listed
// types, or to all of them when none are listed. Events that happen from now
// on are POSTed to it, signed with WebhookSecret. It panics when url is not
// an absolute http or https URL.
func (s *Server) AddWebhookEndpoint(url string, eventTypes ...string) {
	ep, err := newEndpoint(url, eventTypes)
	if err != nil {
		panic("algunatest: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.endpoints = append(s.st.endpoints, ep)
}

// WithWebhookEndpoint subscribes an endpoint from the start, as
// AddWebhookEndpoint does later.
func WithWebhookEndpoint(url string, eventTypes ...string) Option {
	return func(c *config) error {
		ep, err := newEndpoint(url, eventTypes)
		if err != nil {
			return err
		}
		c.endpoints = append(c.endpoints, ep)
		return nil
	}
}

func newEndpoint(rawURL string, eventTypes []string) (*webhookEndpoint, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook endpoint must be an absolute http or https URL, got %q", rawURL)
	}
	ep := &webhookEndpoint{url: rawURL}
	if len(eventTypes) > 0 {
		ep.types = make(map[string]bool, len(eventTypes))
		for _, t := range eventTypes {
			ep.types[t] = true
		}
	}
	return ep, nil
}

// DeliveryStatus is where a webhook delivery stands.
type DeliveryStatus string

const (
	// DeliveryPending is a delivery not yet attempted, or failed and
	// waiting to be retried.
	DeliveryPending DeliveryStatus = "pending"
	// DeliverySucceeded is a delivery the endpoint answered with a 2xx.
	DeliverySucceeded DeliveryStatus = "succeeded"
	// DeliveryFailed is a delivery given up: every attempt failed, or the
	// server was closed first.
	DeliveryFailed DeliveryStatus = "failed"
)

// Delivery is one webhook event sent (or being sent) to one endpoint.
type Delivery struct {
	// ID is the webhook-id header: the same on every attempt, and the same
	// for every endpoint the event goes to.
	ID string
	// Type is the event type, such as "checkout.session.completed".
	Type string
	// Endpoint is the URL the event is delivered to.
	Endpoint string
	// AccountID is the account the event is about; deliveries for one
	// account reach an endpoint in the order the events happened.
	AccountID string
	// Body is the exact payload sent: {"type", "timestamp", "data"}.
	Body []byte
	// Attempts counts the POSTs made so far.
	Attempts int
	// Status is where the delivery stands.
	Status DeliveryStatus
	// StatusCode is the HTTP status of the last attempt; 0 when it got no
	// response.
	StatusCode int
	// Err describes why the last attempt failed; empty after a success.
	Err string
}

type delivery struct {
	id         string
	eventType  string
	endpoint   string
	accountID  string
	body       []byte
	attempts   int
	status     DeliveryStatus
	statusCode int
	err        string
}

// queueKey orders deliveries: per endpoint and account, one at a time. A
// slow or failing endpoint holds up only its own events.
type queueKey struct {
	endpoint  *webhookEndpoint
	accountID string
}

type deliveryQueue struct {
	items []*delivery
}

// envelope is the webhook body Alguna sends.
type envelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// emitLocked queues a webhook event for every endpoint that wants it. It is
// called in the same critical section as the state change it reports, so
// the order of events per account is the order of the changes.
func (s *Server) emitLocked(accountID, eventType string, data any) {
	if s.st.closed {
		return
	}
	// The payloads are structs of strings; encoding them cannot fail.
	body, _ := json.Marshal(envelope{Type: eventType, Timestamp: formatTime(s.now()), Data: data})
	id := newID("msg")
	for _, ep := range s.st.endpoints {
		if !ep.wants(eventType) {
			continue
		}
		d := &delivery{
			id:        id,
			eventType: eventType,
			endpoint:  ep.url,
			accountID: accountID,
			body:      body,
			status:    DeliveryPending,
		}
		s.st.deliveries = append(s.st.deliveries, d)
		if s.st.pending == 0 {
			s.st.idle = make(chan struct{})
		}
		s.st.pending++
		key := queueKey{endpoint: ep, accountID: accountID}
		q, running := s.st.queues[key]
		if !running {
			q = &deliveryQueue{}
			s.st.queues[key] = q
		}
		q.items = append(q.items, d)
		if !running {
			s.workers.Add(1)
			go s.runQueue(key, q)
		}
	}
}

// runQueue delivers one queue's events in order, each to success or until
// given up, and ends when the queue is empty.
func (s *Server) runQueue(key queueKey, q *deliveryQueue) {
	defer s.workers.Done()
	for {
		s.mu.Lock()
		if len(q.items) == 0 {
			delete(s.st.queues, key)
			s.mu.Unlock()
			return
		}
		d := q.items[0]
		s.mu.Unlock()

		s.deliver(d)

		s.mu.Lock()
		q.items[0] = nil
		q.items = q.items[1:]
		s.st.pending--
		if s.st.pending == 0 {
			close(s.st.idle)
			s.st.idle = nil
		}
		s.mu.Unlock()
	}
}

// deliver makes the attempts of one delivery.
func (s *Server) deliver(d *delivery) {
	for attempt := 1; ; attempt++ {
		select {
		case <-s.closing:
			s.giveUp(d, "server closed before the delivery was made")
			return
		default:
		}
		code, err := s.send(d)
		ok := err == nil && code >= 200 && code <= 299
		last := attempt > len(s.cfg.retrySchedule)

		s.mu.Lock()
		d.attempts = attempt
		d.statusCode = code
		switch {
		case err != nil:
			d.err = err.Error()
		case !ok:
			d.err = fmt.Sprintf("endpoint answered %d", code)
		default:
			d.err = ""
		}
		if ok {
			d.status = DeliverySucceeded
		} else if last {
			d.status = DeliveryFailed
		}
		s.mu.Unlock()
		if ok || last {
			return
		}

		t := time.NewTimer(s.cfg.retrySchedule[attempt-1])
		select {
		case <-t.C:
		case <-s.closing:
			t.Stop()
			s.giveUp(d, "server closed before the delivery succeeded")
			return
		}
	}
}

func (s *Server) giveUp(d *delivery, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.status = DeliveryFailed
	if d.err == "" {
		d.err = why
	} else {
		d.err += "; " + why
	}
}

// send makes one attempt. The timestamp and signature are fresh on each
// attempt, so that a retry long after the first try still passes a
// receiver's timestamp tolerance; the id and body never change.
func (s *Server) send(d *delivery) (int, error) {
	req, err := http.NewRequestWithContext(s.sendCtx, http.MethodPost, d.endpoint, bytes.NewReader(d.body))
	if err != nil {
		return 0, err
	}
	setWebhookHeaders(req.Header, s.webhookKey, d.id, time.Now().Unix(), d.body)
	req.Header.Set("User-Agent", "algunatest")
	resp, err := s.sender.Do(req)
	if err != nil {
		return 0, err
	}
	// Read a little of the body so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// FlushWebhooks waits until no webhook delivery is pending: every event that
// has happened so far has been delivered or given up. It returns ctx's error
// if ctx ends first.
func (s *Server) FlushWebhooks(ctx context.Context) error {
	for {
		s.mu.Lock()
		idle := s.st.idle
		s.mu.Unlock()
		if idle == nil {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Deliveries returns the webhook delivery log, oldest first: one entry per
// event and endpoint, with its attempts so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.st.deliveries))
	for i, d := range s.st.deliveries {
		out[i] = Delivery{
			ID:         d.id,
			Type:       d.eventType,
			Endpoint:   d.endpoint,
			AccountID:  d.accountID,
			Body:       slices.Clone(d.body),
			Attempts:   d.attempts,
			Status:     d.status,
			StatusCode: d.statusCode,
			Err:        d.err,
		}
	}
	return out
}
