import json,sys
d=json.load(open(sys.argv[1]))
print('complete',d['run']['complete'],d['run']['incomplete_reasons'][:2],'counters',d['collection']['counters_available'],'dataflow',d['collection'].get('dataflow'),'tool',d['collection']['tool_ns'])
for k in d['kernels'][:7]:
    a=k.get('analysis',{})
    print(' ',k['name'][:50],k['launches'],a.get('bound'),round(a.get('roof_fraction',0),2),a.get('precision'), k.get('counters_unavailable_reason'))
for r in d['ranges']: print('  range',r['name'],{k:v for k,v in r['attribution']['regimes_ns'].items() if v})
for f in d['verdict']['findings']: print('  F',f['rule'],f['saving_ns'],{k:v for k,v in f['evidence'].items() if 'predicted' in k or 'chain_ns' in k or 'iterations' in k})
print([(s['from'],s['to'],s['count'],s['linked']) for s in d['successions'][:6]])
