package cfemu

func (s *Server) registerAccess() {}
