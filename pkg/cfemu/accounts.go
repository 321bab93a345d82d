package cfemu

func (s *Server) registerAccounts() {}
