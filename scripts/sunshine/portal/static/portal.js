/* Gives the SQL editor (CodeMirror, built after the page loads) an accessible name. */
window.addEventListener("load", () => {
  setTimeout(() => {
    document.querySelectorAll(".CodeMirror textarea").forEach((t) => {
      t.setAttribute("aria-label", "SQL 查询");
    });
  }, 0);
});
