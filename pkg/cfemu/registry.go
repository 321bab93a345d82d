package cfemu

func (s *Server) registerRegistry() {}
