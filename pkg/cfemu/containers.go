package cfemu

func (s *Server) registerContainers() {}
