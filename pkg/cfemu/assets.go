package cfemu

func (s *Server) registerAssets() {}
