package cfemu

func (s *Server) registerSecrets() {}
