import { z } from 'zod';

/** What `sandgate-console ca status | rotate | retire` print without --json. */
export function caText(sub: string, out: Record<string, unknown>): string {
  if (sub === 'rotate')
    return `new CA ${String(out.next)} (until ${String(out.notAfter)}) beside the CA in service ${String(out.inService)}.\nWorkstations renew from it at their next poll; "sandgate-console ca status" shows how many moved, then "sandgate-console ca retire".\n`;
  if (sub === 'retire')
    return `CA in service: ${String(out.inService)}; retired ${String(out.retired)}.${Number(out.agentsLeft) ? `\n${String(out.agentsLeft)} workstation(s) were left on the retired CA: they must enroll again.` : ''}\n`;
  const st = caStatusOutSchema.parse(out);
  const lines = [`CA in service  ${st.inService.sha256} (until ${st.inService.notAfter})`];
  if (st.next) lines.push(`new CA         ${st.next.sha256} (until ${st.next.notAfter}): rotation under way`);
  lines.push(
    `workstations   ${st.agents.onInService} on the CA in service${st.next ? ` (still to move)` : ''}, ${st.agents.onNext} on the new CA, ${st.agents.onRetired} on a retired CA (must enroll again)`,
  );
  if (st.agents.notReady !== undefined)
    lines.push(
      `               ${st.agents.notReady} not ready for the retirement (on the old CA, or not reporting that they pin the new one: upgrade agents older than CA rotation)`,
    );
  return lines.join('\n') + '\n';
}

/** `ca status` as the running serve answers it over the control socket: parsed, not trusted. */
const caStatusOutSchema = z.object({
  inService: z.object({ sha256: z.string(), notAfter: z.string() }),
  next: z.object({ sha256: z.string(), notAfter: z.string() }).nullable(),
  agents: z.object({ onInService: z.number(), onNext: z.number(), onRetired: z.number(), notReady: z.number().optional() }),
});
