// Progressive enhancement only: a copy button for the generated password.
// The page works without this file.
const button = document.getElementById("copiar");
const output = document.getElementById("senha");
if (button && output && navigator.clipboard) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(output.textContent ?? "");
      button.textContent = "Copiada!";
    } catch {
      button.textContent = "Não foi possível copiar";
    }
    setTimeout(() => (button.textContent = "Copiar"), 2000);
  });
}
