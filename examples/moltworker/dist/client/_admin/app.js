document.getElementById("root").textContent = "Moltbot admin";
