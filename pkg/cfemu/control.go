package cfemu

func (s *Server) registerControl() {}
