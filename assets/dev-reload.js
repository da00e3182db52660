// `vestibule dev` only: reload the page when the served configuration changes.
(() => {
  let seen = null;
  const poll = async () => {
    try {
      const ready = await (await fetch("/readyz", { cache: "no-store" })).json();
      if (seen && ready.configHash !== seen) location.reload();
      seen = ready.configHash;
    } catch (_) { /* the server restarts: try again */ }
    setTimeout(poll, 1000);
  };
  poll();
})();
