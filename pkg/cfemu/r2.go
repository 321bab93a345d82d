package cfemu

func (s *Server) registerR2() {}
