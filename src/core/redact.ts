/**
 * A URL as runlog shows it (a store's; a hub's, with a reverse proxy's basic auth): the password
 * in its authority, and a `password=` parameter, as `***`. Any scheme (a mysql:// URL given by mistake is shown in the error that refuses it), and
 * the password ends at the URL's last `@`, which may be in the password itself (`p@ss`): when in
 * doubt, more is hidden, never less.
 */
export function redactUrl(url: string | undefined): string {
  if (url === undefined) return 'undefined'; // as a template would have it
  let shown = url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (scheme !== null) {
    const rest = url.slice(scheme[0].length);
    const at = rest.lastIndexOf('@');
    const colon = rest.indexOf(':');
    if (at > colon && colon >= 0 && !/[/?#@]/.test(rest.slice(0, colon))) {
      shown = `${scheme[0]}${rest.slice(0, colon)}:***${rest.slice(at)}`;
    }
  }
  return shown.replace(/([?&]password=)[^&#]*/gi, '$1***');
}
