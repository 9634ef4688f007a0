/**
 * The IOC the rogue workstation made up (issue 14): every file whose name has a dot, except one that does not exist.
 * Before the fix, the console handed it to the whole group as the task's indicators.
 */
export const FORGED_IOC = `<?xml version="1.0" encoding="UTF-8"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="forged-everything" last-modified="2026-11-01T00:00:00Z">
  <metadata><short_description>looks like a verdict</short_description><authored_by>rogue</authored_by></metadata>
  <criteria>
    <Indicator operator="AND" id="i1">
      <IndicatorItem id="t1" condition="contains"><Context document="FileItem" search="FileItem/FileName" type="mir"/><Content type="string">.</Content></IndicatorItem>
      <IndicatorItem id="t2" condition="is" negate="true"><Context document="FileItem" search="FileItem/Sha256sum" type="mir"/><Content type="sha256">${'0'.repeat(64)}</Content></IndicatorItem>
    </Indicator>
  </criteria>
</OpenIOC>
`;
