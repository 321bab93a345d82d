package cfemu

// This file adapts the uploaded Script (workers.go) to what the deployed
// Worker model needs: its environment, workers.dev route and the Durable
// Object namespace of its Sandbox class.

// scriptEnv is the Worker's environment as the code sees it: plain-text
// vars and secrets by name.
func scriptEnv(sc *Script) map[string]string {
	env := map[string]string{}
	for _, b := range sc.Bindings {
		if b.Type == "plain_text" {
			env[b.Name] = b.Text
		}
	}
	for k, v := range sc.Secrets {
		env[k] = v
	}
	return env
}

// scriptWorkersDev reports whether the script is served on workers.dev.
func scriptWorkersDev(sc *Script) bool { return sc.WorkersDevEnabled }

// scriptDONamespaces lists the script's own Durable Object bindings as
// class name → namespace id.
func scriptDONamespaces(sc *Script) map[string]string {
	out := map[string]string{}
	for _, b := range sc.Bindings {
		if b.Type == "durable_object_namespace" && b.NamespaceID != "" && (b.ScriptName == "" || b.ScriptName == sc.Name) {
			out[b.ClassName] = b.NamespaceID
		}
	}
	return out
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
