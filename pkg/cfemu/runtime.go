package cfemu

import "net/http"

// serveWorker answers requests to a deployed Worker's workers.dev host.
func (s *Server) serveWorker(w http.ResponseWriter, r *http.Request, host string) {
	http.Error(w, "There is nothing here yet", http.StatusNotFound)
}
