package cfemu

import "net/http"

// routes registers every handler. Each group lives in its own file.
func (s *Server) routes() {
	s.registerAccounts()
	s.registerWorkers()
	s.registerAssets()
	s.registerSecrets()
	s.registerR2()
	s.registerContainers()
	s.registerRegistry()
	s.registerAccess()
	s.registerTokens()
	s.registerControl()
	s.api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, 7003, "Could not route to %s, perhaps your object identifier is invalid?", r.URL.Path)
	})
}

// handle registers an API handler under /client/v4; pattern is "METHOD /path".
func (s *Server) handle(method, path string, h http.HandlerFunc) {
	s.api.HandleFunc(method+" "+APIPrefix+path, h)
}
