package cfemu

func (s *Server) registerWorkers() {}
