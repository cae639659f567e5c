// The Konva stage of the viewer: a background and the image, in one non-listening layer. The nodes are handed to the
// viewer's engine, which sets their attributes and draws the layer itself once per animation frame; React only
// creates them. The editor's overlays (canvas/overlays.ts) draw into the two layers on top.
import { useEffect, useRef } from 'react';
import { Image as KImage, Layer, Rect, Stage } from 'react-konva';
import type Konva from 'konva';

export interface StageNodes {
  layer: Konva.Layer;
  image: Konva.Image;
  background: Konva.Rect;
  /** the editor's masks (full-resolution bitmap) and marks (heatmap, boxes, handles, tool previews) */
  masks: Konva.Layer;
  marks: Konva.Layer;
}

export function ImageStage(props: { width: number; height: number; onNodes: (nodes: StageNodes | null) => void }) {
  const { width, height, onNodes } = props;
  const layer = useRef<Konva.Layer>(null);
  const image = useRef<Konva.Image>(null);
  const background = useRef<Konva.Rect>(null);
  const masks = useRef<Konva.Layer>(null);
  const marks = useRef<Konva.Layer>(null);

  useEffect(() => {
    if (layer.current && image.current && background.current && masks.current && marks.current) {
      onNodes({ layer: layer.current, image: image.current, background: background.current, masks: masks.current, marks: marks.current });
    }
    return () => onNodes(null);
  }, [onNodes]);

  return (
    <Stage width={Math.max(1, width)} height={Math.max(1, height)} listening={false}>
      <Layer ref={layer} listening={false}>
        <Rect ref={background} x={0} y={0} width={width} height={height} fill="#000" listening={false} perfectDrawEnabled={false} />
        <KImage ref={image} image={undefined} listening={false} perfectDrawEnabled={false} />
      </Layer>
      <Layer ref={masks} listening={false} />
      <Layer ref={marks} listening={false} />
    </Stage>
  );
}
