// Runtime settings come from config.json beside the app, so one build serves every environment.

export interface ConsoleConfig {
  apiUrl: string;
  issuer: string;
  clientId: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const raw = (await response.json()) as Partial<ConsoleConfig>;
  if (!raw.apiUrl || !raw.issuer || !raw.clientId) throw new Error("config.json needs apiUrl, issuer and clientId");
  return { apiUrl: raw.apiUrl.replace(/\/$/, ""), issuer: raw.issuer.replace(/\/$/, ""), clientId: raw.clientId };
}
