// Where each kept finding of the open image lies, as the report says it: the station's own zone assignment (from
// the reader's lung masks, else the model's lung outlines), read with the report's facts and re-read after every
// saved edit, so that the AI panel, the report and the answers name the same zones for the same box.
import { useEffect, useState } from 'react';
import { call, onEvent } from '../api';
import { zonePhrase, type LungSide, type LungZone } from '../../../electron/contract/index';

export type FindingZones = ReadonlyMap<string, { side: LungSide; zones: LungZone[] }>;

export function useFindingZones(caseId: number, imageId: number): FindingZones {
  const [zones, setZones] = useState<FindingZones>(new Map());
  useEffect(() => {
    let live = true;
    let seq = 0;
    const load = () => {
      const mine = ++seq;
      call('report:get', { caseId })
        .then((r) => {
          if (!live || mine !== seq) return;
          const im = r.facts.images.find((x) => x.imageId === imageId);
          setZones(new Map((im?.findings ?? []).map((f) => [f.id, { side: f.side, zones: f.zones }])));
        })
        .catch(() => {
          // the findings list still shows every box; only the zone words wait for the next save
        });
    };
    load();
    const offs = [
      onEvent('annotations:onSaved', (e) => e.imageId === imageId && load()),
      onEvent('cases:onChanged', (e) => e.caseIds.includes(caseId) && load()),
    ];
    return () => {
      live = false;
      offs.forEach((off) => off());
    };
  }, [caseId, imageId]);
  return zones;
}

/** " · right upper and middle zones", or "" when the finding's zones are not known (yet). */
export function zoneWords(zones: FindingZones, findingId: string): string {
  const z = zones.get(findingId);
  return z && z.zones.length ? ` · ${zonePhrase(z.side, z.zones)}` : '';
}
