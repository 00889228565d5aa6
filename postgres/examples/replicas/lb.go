package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"time"
)

// balancer is a round-robin load balancer in front of the replicas, as a
// Kubernetes Service or a cloud load balancer would be: Alguna's webhooks
// and the app's traffic reach whichever replica is next.
type balancer struct {
	url    string
	server *http.Server

	mu       sync.Mutex
	replicas []*replica
	// next is the rotation, one per path, so that webhooks arriving in the
	// middle of the app's calls do not change which replica serves those.
	next map[string]int
}

func startBalancer(ctx context.Context, replicas []*replica) (*balancer, error) {
	b := &balancer{replicas: slices.Clone(replicas), next: map[string]int{}}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(&url.URL{Scheme: "http", Host: b.pick(pr.In.URL.Path)})
	}}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.url = "http://" + ln.Addr().String()
	b.server = &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.server.Serve(ln) }()
	return b, nil
}

// pick is the address of the next replica in the path's rotation.
func (b *balancer) pick(path string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.replicas[b.next[path]%len(b.replicas)]
	b.next[path]++
	return r.addr
}

// remove takes a replica out of rotation, as a failing readiness probe
// does before the pod stops.
func (b *balancer) remove(r *replica) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.replicas = slices.DeleteFunc(b.replicas, func(x *replica) bool { return x == r })
}

func (b *balancer) close() {
	_ = b.server.Close()
}
