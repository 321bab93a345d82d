package cfemu

// This file adapts the uploaded Script (workers.go) to what the deployed
// Worker model needs: its environment, workers.dev route and the Durable
// Object namespace of its Sandbox class.

// scriptEnv is the Worker's environment as the code sees it: secrets and
// plain-text vars by name.
func scriptEnv(sc *Script) map[string]string {
	env := map[string]string{}
	return env
}

// scriptWorkersDev reports whether the script is served on workers.dev.
func scriptWorkersDev(sc *Script) bool {
	return false
}

// scriptDONamespaces lists the script's Durable Object bindings as
// class name → namespace id.
func scriptDONamespaces(sc *Script) map[string]string {
	return map[string]string{}
}

// scriptSandboxNamespace is the namespace id of the script's Sandbox
// Durable Object class (moltworker binds class "Sandbox"), or "".
func scriptSandboxNamespace(sc *Script) string {
	ns := scriptDONamespaces(sc)
	if id := ns["Sandbox"]; id != "" {
		return id
	}
	for _, id := range ns {
		return id
	}
	return ""
}

// doNamespace finds the script and class that own a Durable Object
// namespace id. The caller holds s.mu.
func (s *Server) doNamespace(id string) (script, class string, ok bool) {
	if id == "" {
		return "", "", false
	}
	for name, sc := range s.state.Scripts {
		for cls, nsID := range scriptDONamespaces(sc) {
			if nsID == id {
				return name, cls, true
			}
		}
	}
	return "", "", false
}
