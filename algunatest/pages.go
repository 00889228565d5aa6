package algunatest

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
)

//go:embed templates
var templateFS embed.FS

// pageSet holds one parsed template per page.
type pageSet map[string]*template.Template

// parsePages parses the hosted pages, each inside layout.html.
func parsePages() (pageSet, error) {
	names := []string{"checkout.html", "thankyou.html", "portal.html", "cancel.html", "message.html"}
	set := make(pageSet, len(names))
	for _, name := range names {
		t, err := template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, err
		}
		set[name] = t
	}
	return set, nil
}

// render writes a hosted page. The page is rendered to memory first so that a
// template failure becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		http.Error(w, "algunatest: rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type messageView struct {
	Status   int
	Title    string
	Message  string
	LinkURL  string
	LinkText string
}

// renderMessage writes the page for an error or a dead end: an unknown
// session, an expired portal link, a second payment.
func (s *Server) renderMessage(w http.ResponseWriter, status int, title, message string) {
	s.render(w, status, "message.html", messageView{Status: status, Title: title, Message: message})
}

// renderMessageLink is renderMessage for a dead end with a way back, such
// as the portal a refused cancellation came from.
func (s *Server) renderMessageLink(w http.ResponseWriter, status int, title, message, linkURL, linkText string) {
	s.render(w, status, "message.html", messageView{
		Status: status, Title: title, Message: message, LinkURL: linkURL, LinkText: linkText,
	})
}

// maxFormBytes bounds a hosted page's form body: the checkout's four fields
// fit many times over, and a larger body is not a browser's.
const maxFormBytes = 16 << 10

// readForm reads the fields a hosted page's form posted, URL-encoded or
// multipart as a browser may send them; the query string does not count.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	// ParseMultipartForm alone would hide an error of a URL-encoded body
	// behind ErrNotMultipart.
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	err := r.ParseMultipartForm(maxFormBytes) //nolint:gosec // G120: MaxBytesReader above bounds the body; gosec cannot see that through r.Body.
	if r.MultipartForm != nil {
		_ = r.MultipartForm.RemoveAll()
	}
	if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, err
	}
	return r.PostForm, nil
}
