<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es">
  <context>
    <name>Ls4Dock</name>
    <message>
      <source>Canceled. Kept (published before the cancel, in the index and the WMS): {}.</source>
      <translation>Cancelado. Se conservan (publicados antes de cancelar, en el índice y en el WMS): {}.</translation>
    </message>
    <message>
      <source>LS4 — publish a collection</source>
      <translation>LS4 — publicar una colección</translation>
    </message>
    <message>
      <source>Enter the mission code of the multi-county flight (e.g. AR-1963).</source>
      <translation>Escriba el código de misión del vuelo de varios condados (p. ej. AR-1963).</translation>
    </message>
    <message>
      <source>LS4: list the published collections</source>
      <translation>LS4: listar las colecciones publicadas</translation>
    </message>
    <message>
      <source>The bucket is not public: published frames and downloads answer 403 (access denied) until its policy is applied.</source>
      <translation>El bucket no es público: los fotogramas publicados y las descargas responden 403 (acceso denegado) hasta que se aplique su política.</translation>
    </message>
    <message>
      <source>LS4: apply the public-read policy</source>
      <translation>LS4: aplicar la política de lectura pública</translation>
    </message>
    <message>
      <source>The public-read policy is applied: the public stages are public.</source>
      <translation>La política de lectura pública está aplicada: las etapas públicas son públicas.</translation>
    </message>
    <message>
      <source>Add scans or georeferenced frames</source>
      <translation>Añadir escaneos o fotogramas georreferenciados</translation>
    </message>
    <message>
      <source>GeoTIFF (*.tif *.TIF)</source>
      <translation>GeoTIFF (*.tif *.TIF)</translation>
    </message>
    <message>
      <source>All raster layers</source>
      <translation>Todas las capas ráster</translation>
    </message>
    <message>
      <source> (COG)</source>
      <translation> (COG)</translation>
    </message>
    <message>
      <source>Canceled. No frame was published.</source>
      <translation>Cancelado. No se publicó ningún fotograma.</translation>
    </message>
    <message>
      <source>Published</source>
      <translation>Publicado</translation>
    </message>
    <message>
      <source>Published (no change)</source>
      <translation>Publicado (sin cambios)</translation>
    </message>
    <message>
      <source>Canceled</source>
      <translation>Cancelado</translation>
    </message>
    <message>
      <source>Not attempted</source>
      <translation>No intentado</translation>
    </message>
    <message>
      <source>Enter the agency that flew the photographs (e.g. TxDOT).</source>
      <translation>Escriba la agencia que tomó las fotografías (p. ej. TxDOT).</translation>
    </message>
    <message>
      <source>The county list in the LS4 settings is unusable: {}</source>
      <translation>La lista de condados de la configuración de LS4 no se puede usar: {}</translation>
    </message>
    <message>
      <source>Year</source>
      <translation>Año</translation>
    </message>
    <message>
      <source>Mission</source>
      <translation>Misión</translation>
    </message>
    <message>
      <source>Looking for a collection published under {}…</source>
      <translation>Buscando una colección publicada bajo {}…</translation>
    </message>
    <message>
      <source>Select a scan that has a .points file next to it.</source>
      <translation>Seleccione un escaneo que tenga su archivo .points al lado.</translation>
    </message>
    <message>
      <source>Select a scan first.</source>
      <translation>Seleccione primero un escaneo.</translation>
    </message>
    <message>
      <source>QGIS's Georeferencer is not available in this QGIS.</source>
      <translation>El Georreferenciador de QGIS no está disponible en este QGIS.</translation>
    </message>
    <message>
      <source>Select a georeferenced frame to preview.</source>
      <translation>Seleccione un fotograma georreferenciado para previsualizarlo.</translation>
    </message>
    <message>
      <source>LS4: upload {} scan(s) of {}</source>
      <translation>LS4: subir {} escaneo(s) de {}</translation>
    </message>
    <message>
      <source>LS4: publish {}</source>
      <translation>LS4: publicar {}</translation>
    </message>
    <message>
      <source>Publishing…</source>
      <translation>Publicando…</translation>
    </message>
    <message>
      <source>{}: {} published, {} unchanged, {} failed, {} not attempted.</source>
      <translation>{}: {} publicado(s), {} sin cambios, {} fallido(s), {} no intentado(s).</translation>
    </message>
    <message>
      <source>WMS layer {} loaded.</source>
      <translation>Capa WMS {} cargada.</translation>
    </message>
    <message>
      <source>Canceling…</source>
      <translation>Cancelando…</translation>
    </message>
    <message>
      <source>{}: canceled</source>
      <translation>{}: cancelado</translation>
    </message>
    <message>
      <source>{}: failed</source>
      <translation>{}: falló</translation>
    </message>
    <message>
      <source>(Details: View ▸ Panels ▸ Log Messages, LS4 tab.)</source>
      <translation>(Detalles: Ver ▸ Paneles ▸ Mensajes de registro, pestaña LS4.)</translation>
    </message>
    <message>
      <source>Enter the year of the flight (four digits).</source>
      <translation>Escriba el año del vuelo (cuatro cifras).</translation>
    </message>
    <message>
      <source>{} is not in the county list; taken, as {} is already published.</source>
      <translation>{} no está en la lista de condados; se acepta, porque {} ya está publicada.</translation>
    </message>
    <message>
      <source>LS4: look up {}</source>
      <translation>LS4: buscar {}</translation>
    </message>
    <message>
      <source>Cannot look the collection up: {}</source>
      <translation>No se puede buscar la colección: {}</translation>
    </message>
    <message>
      <source>{} is published in {} ({} frame(s)): a collection has one band layout, so {} frames cannot join it. Publish them as a collection of their own (another agency, year or type).</source>
      <translation>{} está publicada en {} ({} fotograma(s)): una colección tiene una sola disposición de bandas, así que los fotogramas en {} no pueden unirse a ella. Publíquelos como una colección propia (otra agencia, otro año u otro tipo).</translation>
    </message>
    <message>
      <source>New collection: nothing published yet.</source>
      <translation>Colección nueva: aún no hay nada publicado.</translation>
    </message>
    <message>
      <source>WMS GetCapabilities</source>
      <translation>WMS GetCapabilities</translation>
    </message>
    <message>
      <source>LS4: inspect {}</source>
      <translation>LS4: inspeccionar {}</translation>
    </message>
    <message>
      <source>LS4: georeference {}</source>
      <translation>LS4: georreferenciar {}</translation>
    </message>
    <message>
      <source>{} georeferenced (RMS error {:.2f} px): {}</source>
      <translation>{} georreferenciado (error RMS {:.2f} px): {}</translation>
    </message>
    <message>
      <source>In the Georeferencer, open {} (its path is on the clipboard), add the points and save them next to it as {}; then come back and click Apply .points.</source>
      <translation>En el Georreferenciador, abra {} (su ruta está en el portapapeles), añada los puntos y guárdelos a su lado como {}; después vuelva y pulse Aplicar .points.</translation>
    </message>
    <message>
      <source>LS4: footprint of {}</source>
      <translation>LS4: huella de {}</translation>
    </message>
    <message>
      <source>{} footprint</source>
      <translation>huella de {}</translation>
    </message>
    <message>
      <source>Preview of {}{}</source>
      <translation>Vista previa de {}{}</translation>
    </message>
    <message>
      <source>{} scan(s) uploaded to scanned/.</source>
      <translation>{} escaneo(s) subido(s) a scanned/.</translation>
    </message>
    <message>
      <source>Canceled; looking up which frames were kept…</source>
      <translation>Cancelado; buscando qué fotogramas se conservaron…</translation>
    </message>
    <message>
      <source>LS4: load WMS {}</source>
      <translation>LS4: cargar WMS {}</translation>
    </message>
    <message>
      <source>Looking the collection up…</source>
      <translation>Buscando la colección…</translation>
    </message>
    <message>
      <source>Not a valid collection: {}</source>
      <translation>No es una colección válida: {}</translation>
    </message>
    <message>
      <source>(Trying again every {} s.)</source>
      <translation>(Se vuelve a intentar cada {} s.)</translation>
    </message>
    <message>
      <source>No raster file layer in the project</source>
      <translation>No hay capas ráster de archivo en el proyecto</translation>
    </message>
    <message>
      <source>{}: {}</source>
      <translation>{}: {}</translation>
    </message>
    <message>
      <source>Scan uploaded to {}</source>
      <translation>Escaneo subido a {}</translation>
    </message>
    <message>
      <source>Publishing {} frame(s); {} not ready are left out.</source>
      <translation>Publicando {} fotograma(s); se omiten {} que no están listos.</translation>
    </message>
    <message>
      <source>Warnings: {}</source>
      <translation>Advertencias: {}</translation>
    </message>
    <message>
      <source>{} frame(s) not published: click Publish to go on.</source>
      <translation>{} fotograma(s) sin publicar: pulse Publicar para continuar.</translation>
    </message>
    <message>
      <source>STAC item of {}: {}</source>
      <translation>Ítem STAC de {}: {}</translation>
    </message>
    <message>
      <source>Wait for {} to finish, or cancel it.</source>
      <translation>Espere a que termine {}, o cancélelo.</translation>
    </message>
    <message>
      <source>WMS title</source>
      <translation>Título WMS</translation>
    </message>
    <message>
      <source>Table</source>
      <translation>Tabla</translation>
    </message>
    <message>
      <source>Mapfile</source>
      <translation>Mapfile</translation>
    </message>
    <message>
      <source>Keys</source>
      <translation>Claves</translation>
    </message>
    <message>
      <source>Published: {} frame(s) in the tile index.</source>
      <translation>Publicada: {} fotograma(s) en el índice de teselas.</translation>
    </message>
    <message>
      <source>Cannot write {}: {}</source>
      <translation>No se puede escribir {}: {}</translation>
    </message>
    <message>
      <source>Apply the policy</source>
      <translation>Aplicar la política</translation>
    </message>
    <message>
      <source>The public-read policy: scanned/, georef/, cog/ and geojson/ of the bucket become readable by anyone</source>
      <translation>La política de lectura pública: scanned/, georef/, cog/ y geojson/ del bucket pasan a ser legibles por cualquiera</translation>
    </message>
    <message>
      <source>Settings…</source>
      <translation>Configuración…</translation>
    </message>
    <message>
      <source>S3, PostgreSQL and MapServer, and a test of each</source>
      <translation>S3, PostgreSQL y MapServer, y una prueba de cada uno</translation>
    </message>
    <message>
      <source>1. Collection</source>
      <translation>1. Colección</translation>
    </message>
    <message>
      <source>e.g. Fort Bend; empty for a multi-county mission</source>
      <translation>p. ej. Fort Bend; vacío para una misión de varios condados</translation>
    </message>
    <message>
      <source>e.g. TxDOT</source>
      <translation>p. ej. TxDOT</translation>
    </message>
    <message>
      <source>e.g. 1952, or a mission code like AR-1963</source>
      <translation>p. ej. 1952, o un código de misión como AR-1963</translation>
    </message>
    <message>
      <source>Black and white (1 band)</source>
      <translation>Blanco y negro (1 banda)</translation>
    </message>
    <message>
      <source>Natural color (3 bands)</source>
      <translation>Color natural (3 bandas)</translation>
    </message>
    <message>
      <source>County</source>
      <translation>Condado</translation>
    </message>
    <message>
      <source>Agency</source>
      <translation>Agencia</translation>
    </message>
    <message>
      <source>Type</source>
      <translation>Tipo</translation>
    </message>
    <message>
      <source>Bands</source>
      <translation>Bandas</translation>
    </message>
    <message>
      <source>2. Files</source>
      <translation>2. Archivos</translation>
    </message>
    <message>
      <source>Add files…</source>
      <translation>Añadir archivos…</translation>
    </message>
    <message>
      <source>From project</source>
      <translation>Del proyecto</translation>
    </message>
    <message>
      <source>Remove</source>
      <translation>Quitar</translation>
    </message>
    <message>
      <source>Polynomial 1</source>
      <translation>Polinómica 1</translation>
    </message>
    <message>
      <source>Polynomial 2</source>
      <translation>Polinómica 2</translation>
    </message>
    <message>
      <source>Polynomial 3</source>
      <translation>Polinómica 3</translation>
    </message>
    <message>
      <source>Thin plate spline</source>
      <translation>Spline de placa delgada</translation>
    </message>
    <message>
      <source>Transformation used by Apply .points</source>
      <translation>Transformación que usa Aplicar .points</translation>
    </message>
    <message>
      <source>Apply .points</source>
      <translation>Aplicar .points</translation>
    </message>
    <message>
      <source>Georeference the selected scans with the .points next to them</source>
      <translation>Georreferenciar los escaneos seleccionados con el .points que tienen al lado</translation>
    </message>
    <message>
      <source>Georeferencer…</source>
      <translation>Georreferenciador…</translation>
    </message>
    <message>
      <source>Open QGIS's Georeferencer to place the points of a scan</source>
      <translation>Abrir el Georreferenciador de QGIS para situar los puntos de un escaneo</translation>
    </message>
    <message>
      <source>Preview</source>
      <translation>Vista previa</translation>
    </message>
    <message>
      <source>Show the selected frame and its footprint on the map</source>
      <translation>Mostrar en el mapa el fotograma seleccionado y su huella</translation>
    </message>
    <message>
      <source>3. Publish and check</source>
      <translation>3. Publicar y comprobar</translation>
    </message>
    <message>
      <source>Upload scans</source>
      <translation>Subir escaneos</translation>
    </message>
    <message>
      <source>Upload the raw scans to the collection's scanned/ folder</source>
      <translation>Subir los escaneos originales a la carpeta scanned/ de la colección</translation>
    </message>
    <message>
      <source>Publish</source>
      <translation>Publicar</translation>
    </message>
    <message>
      <source>COGs, tile index and mapfile for every frame ready to publish</source>
      <translation>COG, índice de teselas y mapfile de cada fotograma listo para publicar</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Cancelar</translation>
    </message>
    <message>
      <source>Load WMS</source>
      <translation>Cargar WMS</translation>
    </message>
    <message>
      <source>Add the collection's live WMS to the map and zoom to it</source>
      <translation>Añadir al mapa el WMS en vivo de la colección y hacer zoom a él</translation>
    </message>
    <message>
      <source>Frames</source>
      <translation>Fotogramas</translation>
    </message>
    <message>
      <source>Index sheets</source>
      <translation>Hojas índice</translation>
    </message>
    <message>
      <source>Mosaic</source>
      <translation>Mosaico</translation>
    </message>
  </context>
  <context>
    <name>Ls4FileTable</name>
    <message>
      <source>Drop GeoTIFF files or raster layers here</source>
      <translation>Suelte aquí archivos GeoTIFF o capas ráster</translation>
    </message>
    <message>
      <source>File</source>
      <translation>Archivo</translation>
    </message>
    <message>
      <source>Kind</source>
      <translation>Clase</translation>
    </message>
    <message>
      <source>CRS</source>
      <translation>SRC</translation>
    </message>
    <message>
      <source>Bands</source>
      <translation>Bandas</translation>
    </message>
    <message>
      <source>Status</source>
      <translation>Estado</translation>
    </message>
  </context>
  <context>
    <name>Ls4Files</name>
    <message>
      <source>Scan</source>
      <translation>Escaneo</translation>
    </message>
    <message>
      <source>Frame</source>
      <translation>Fotograma</translation>
    </message>
    <message>
      <source>Checking…</source>
      <translation>Comprobando…</translation>
    </message>
    <message>
      <source>Unreadable</source>
      <translation>Ilegible</translation>
    </message>
    <message>
      <source>black and white</source>
      <translation>blanco y negro</translation>
    </message>
    <message>
      <source>natural color</source>
      <translation>color natural</translation>
    </message>
    <message>
      <source>No coordinate system: set it (Layer Properties ▸ Source) and save a copy</source>
      <translation>Sin sistema de coordenadas: asígnelo (Propiedades de la capa ▸ Fuente) y guarde una copia</translation>
    </message>
    <message>
      <source>Published</source>
      <translation>Publicado</translation>
    </message>
    <message>
      <source>Looking the collection up…</source>
      <translation>Buscando la colección…</translation>
    </message>
    <message>
      <source>Ready to publish</source>
      <translation>Listo para publicar</translation>
    </message>
    <message>
      <source>Cannot be read: {}</source>
      <translation>No se puede leer: {}</translation>
    </message>
    <message>
      <source>Neither grayscale (1 band) nor colour (3 bands): {}</source>
      <translation>Ni escala de grises (1 banda) ni color (3 bandas): {}</translation>
    </message>
    <message>
      <source>Not georeferenced yet; its .points file is ready: Apply .points</source>
      <translation>Aún sin georreferenciar; su archivo .points está listo: Aplicar .points</translation>
    </message>
    <message>
      <source>Its NoData value does not fit its pixels ({}): the collar may not be clear</source>
      <translation>Su valor NoData no cabe en sus píxeles ({}): el marco puede no quedar transparente</translation>
    </message>
    <message>
      <source>Rename it like {} ({})</source>
      <translation>Renómbrelo como {} ({})</translation>
    </message>
    <message>
      <source>A {} image: {} is published in {}, and a collection has one band layout; publish it as a collection of its own (another agency, year or type)</source>
      <translation>Una imagen en {}: {} está publicada en {} y una colección tiene una sola disposición de bandas; publíquela como una colección propia (otra agencia, otro año u otro tipo)</translation>
    </message>
    <message>
      <source>Georeferenced as {}</source>
      <translation>Georreferenciado como {}</translation>
    </message>
    <message>
      <source>A {} image in a {} collection: choose the other band layout</source>
      <translation>Una imagen en {} en una colección en {}: elija la otra disposición de bandas</translation>
    </message>
    <message>
      <source>Not georeferenced: open it in the Georeferencer and save the points next to it ({})</source>
      <translation>Sin georreferenciar: ábralo en el Georreferenciador y guarde los puntos a su lado ({})</translation>
    </message>
  </context>
  <context>
    <name>Ls4Jobs</name>
    <message>
      <source>{}: QGIS's task manager lost the queued task; submitted it again.</source>
      <translation>{}: el gestor de tareas de QGIS perdió la tarea en cola; se ha enviado de nuevo.</translation>
    </message>
    <message>
      <source>The algorithm {} is not available: is the LS4 plugin loaded?</source>
      <translation>El algoritmo {} no está disponible: ¿está cargado el complemento LS4?</translation>
    </message>
    <message>
      <source>Canceled.</source>
      <translation>Cancelado.</translation>
    </message>
    <message>
      <source>{} failed; the log panel (LS4) has the details.</source>
      <translation>{} falló; el panel de registro (LS4) tiene los detalles.</translation>
    </message>
  </context>
  <context>
    <name>Ls4Messages</name>
    <message>
      <source>nothing answers at this host and port (is the server running?)</source>
      <translation>nada responde en este host y puerto (¿está en marcha el servidor?)</translation>
    </message>
    <message>
      <source>the server did not answer in time</source>
      <translation>el servidor no respondió a tiempo</translation>
    </message>
    <message>
      <source>the user name or password is wrong</source>
      <translation>el nombre de usuario o la contraseña son incorrectos</translation>
    </message>
    <message>
      <source>the host name is not known</source>
      <translation>el nombre del host es desconocido</translation>
    </message>
    <message>
      <source>(the access key or secret key of {} is wrong, or may not read the bucket)</source>
      <translation>(la clave de acceso o la clave secreta de {} es incorrecta, o no puede leer el bucket)</translation>
    </message>
    <message>
      <source>the default credentials</source>
      <translation>las credenciales por defecto</translation>
    </message>
    <message>
      <source>nothing answers at this address (is the server running?)</source>
      <translation>nada responde en esta dirección (¿está en marcha el servidor?)</translation>
    </message>
    <message>
      <source>S3 did not answer in time</source>
      <translation>S3 no respondió a tiempo</translation>
    </message>
    <message>
      <source>1 frame</source>
      <translation>1 fotograma</translation>
    </message>
    <message>
      <source>S3 refused {} at {}: {}</source>
      <translation>S3 rechazó {} en {}: {}</translation>
    </message>
    <message>
      <source> or </source>
      <translation> o </translation>
    </message>
    <message>
      <source>No frame was published ({}): {}</source>
      <translation>No se publicó ningún fotograma ({}): {}</translation>
    </message>
    <message>
      <source>mission code {} gives table {}, which holds mission {} (s3 prefix {}): write the mission code {}, or use one that gives a table of its own</source>
      <translation>el código de misión {} da la tabla {}, que contiene la misión {} (prefijo S3 {}): escriba el código de misión {} o use uno que dé una tabla propia</translation>
    </message>
    <message>
      <source>the WMS path answers at {} (404 for a collection that is not published); publish a collection to check MapServer itself</source>
      <translation>la ruta WMS responde en {} (404 para una colección sin publicar); publique una colección para comprobar el propio MapServer</translation>
    </message>
    <message>
      <source>Mapfile {}: the tile index {} has no usable extent ({}); add frames before publishing the mapfile</source>
      <translation>Mapfile {}: el índice de teselas {} no tiene una extensión utilizable ({}); añada fotogramas antes de publicar el mapfile</translation>
    </message>
    <message>
      <source>{}: cannot be written in {}: no space left on the device ({} bytes free); GDAL said: {}</source>
      <translation>{}: no se puede escribir en {}: no queda espacio en el dispositivo ({} bytes libres); GDAL dijo: {}</translation>
    </message>
    <message>
      <source>bucket {} at {} answers with these credentials</source>
      <translation>el bucket {} en {} responde con estas credenciales</translation>
    </message>
    <message>
      <source>the public stages of bucket {} are not public ({} of the LS4 public-read policy's resources are not granted): published COGs, Preview and the download links answer 403 until the policy is applied</source>
      <translation>las etapas públicas del bucket {} no son públicas ({} recursos de la política de lectura pública de LS4 no están concedidos): los COG publicados, la vista previa y los enlaces de descarga responden 403 hasta que se aplique la política</translation>
    </message>
    <message>
      <source>the public stages of bucket {} are readable by anyone</source>
      <translation>las etapas públicas del bucket {} son legibles por cualquiera</translation>
    </message>
    <message>
      <source>connection {} opens database {} with PostGIS {}</source>
      <translation>la conexión {} abre la base de datos {} con PostGIS {}</translation>
    </message>
    <message>
      <source>MapServer answers at {} (the WMS capabilities of {})</source>
      <translation>MapServer responde en {} (las capacidades WMS de {})</translation>
    </message>
    <message>
      <source>MapServer answers at {}</source>
      <translation>MapServer responde en {}</translation>
    </message>
    <message>
      <source>{} answers 404: collection {} is not published there</source>
      <translation>{} responde 404: la colección {} no está publicada allí</translation>
    </message>
    <message>
      <source>no bucket is set</source>
      <translation>no hay ningún bucket configurado</translation>
    </message>
    <message>
      <source>no PostgreSQL connection is chosen</source>
      <translation>no se ha elegido ninguna conexión PostgreSQL</translation>
    </message>
    <message>
      <source>mission code {} must contain a letter (e.g. AR-1963)</source>
      <translation>el código de misión {} debe contener una letra (p. ej. AR-1963)</translation>
    </message>
    <message>
      <source>year {} is not between {} and {}</source>
      <translation>el año {} no está entre {} y {}</translation>
    </message>
    <message>
      <source>county {} is reserved: write {} (or no county)</source>
      <translation>el condado {} está reservado: escriba {} (o ningún condado)</translation>
    </message>
    <message>
      <source>{} is not in the county list of {}</source>
      <translation>{} no está en la lista de condados de {}</translation>
    </message>
    <message>
      <source>There is no PostgreSQL connection named {} in QGIS</source>
      <translation>No hay ninguna conexión PostgreSQL llamada {} en QGIS</translation>
    </message>
    <message>
      <source>No S3 bucket is set: open LS4 ▸ Settings and set the bucket</source>
      <translation>No hay ningún bucket S3 configurado: abra LS4 ▸ Configuración e indique el bucket</translation>
    </message>
    <message>
      <source>{}: its scan is missing from scanned/ (expected {})</source>
      <translation>{}: falta su escaneo en scanned/ (se esperaba {})</translation>
    </message>
    <message>
      <source>its scan is missing from scanned/ (expected {})</source>
      <translation>falta su escaneo en scanned/ (se esperaba {})</translation>
    </message>
    <message>
      <source>not attempted: {} unreachable</source>
      <translation>no intentado: {} no responde</translation>
    </message>
    <message>
      <source>stopped: {} unreachable</source>
      <translation>detenido: {} inalcanzable</translation>
    </message>
    <message>
      <source>S3 at {} refused {}: {}</source>
      <translation>S3 en {} rechazó {}: {}</translation>
    </message>
    <message>
      <source>PostgreSQL ({}) did not answer within {} s</source>
      <translation>PostgreSQL ({}) no respondió en {} s</translation>
    </message>
    <message>
      <source>{}: the file does not exist</source>
      <translation>{}: el archivo no existe</translation>
    </message>
    <message>
      <source>{}: this is a folder, not a raster file</source>
      <translation>{}: es una carpeta, no un archivo ráster</translation>
    </message>
    <message>
      <source>{}: the file is empty (0 bytes)</source>
      <translation>{}: el archivo está vacío (0 bytes)</translation>
    </message>
    <message>
      <source>{}: has no raster bands (a container of subdatasets?)</source>
      <translation>{}: no tiene bandas ráster (¿un contenedor de subconjuntos de datos?)</translation>
    </message>
    <message>
      <source>{}: the file is truncated: it has {} bytes but its image data runs to byte {} (an interrupted copy or download?)</source>
      <translation>{}: el archivo está truncado: tiene {} bytes pero sus datos de imagen llegan hasta el byte {} (¿una copia o descarga interrumpida?)</translation>
    </message>
    <message>
      <source>{}: not a raster file GDAL can read (GDAL: {})</source>
      <translation>{}: no es un archivo ráster que GDAL pueda leer (GDAL: {})</translation>
    </message>
    <message>
      <source>{}: not a raster file GDAL can read</source>
      <translation>{}: no es un archivo ráster que GDAL pueda leer</translation>
    </message>
    <message>
      <source>{}: GDAL cannot open it: {}</source>
      <translation>{}: GDAL no puede abrirlo: {}</translation>
    </message>
    <message>
      <source>{}: not georeferenced (no geotransform and no GCPs): georeference the scan first (ls4:georeference)</source>
      <translation>{}: sin georreferenciar (ni geotransformación ni puntos de control): georreferencie primero el escaneo (ls4:georeference)</translation>
    </message>
    <message>
      <source>{}: georeferenced but without a CRS: assign one (Assign projection)</source>
      <translation>{}: georreferenciado pero sin SRC: asígnele uno (Asignar proyección)</translation>
    </message>
    <message>
      <source>{}: a paletted image: expand it to RGB first (gdal_translate -expand)</source>
      <translation>{}: una imagen con paleta: expándala primero a RGB (gdal_translate -expand)</translation>
    </message>
    <message>
      <source>{}: WEBP holds colour (nc) images only: use DEFLATE or ZSTD</source>
      <translation>{}: WEBP solo guarda imágenes en color (nc): use DEFLATE o ZSTD</translation>
    </message>
    <message>
      <source>{}: cannot be written in {}: {}</source>
      <translation>{}: no se puede escribir en {}: {}</translation>
    </message>
    <message>
      <source>{}: no STAC item: its date {} cannot be read as a day within a year of the collection's {}</source>
      <translation>{}: sin ítem STAC: su fecha {} no se puede leer como un día cercano al año {} de la colección</translation>
    </message>
    <message>
      <source>{}: no STAC item: the collection {} has no year (its mission code names none), so its date range is unknown</source>
      <translation>{}: sin ítem STAC: la colección {} no tiene año (su código de misión no nombra ninguno), así que su intervalo de fechas es desconocido</translation>
    </message>
    <message>
      <source>{}: no row of {} holds {}: no item</source>
      <translation>{}: ninguna fila de {} contiene {}: sin ítem</translation>
    </message>
    <message>
      <source>{}: its COG {} is gone: no item</source>
      <translation>{}: su COG {} ya no existe: sin ítem</translation>
    </message>
    <message>
      <source>{}: cannot be read as a raster</source>
      <translation>{}: no se puede leer como ráster</translation>
    </message>
    <message>
      <source>Canceled</source>
      <translation>Cancelado</translation>
    </message>
    <message>
      <source>county</source>
      <translation>el condado</translation>
    </message>
    <message>
      <source>agency</source>
      <translation>la agencia</translation>
    </message>
    <message>
      <source>year</source>
      <translation>el año</translation>
    </message>
    <message>
      <source>mission code</source>
      <translation>el código de misión</translation>
    </message>
    <message>
      <source>must be four digits</source>
      <translation>debe tener cuatro cifras</translation>
    </message>
    <message>
      <source>may only contain ASCII letters and digits, starting with a letter</source>
      <translation>solo puede contener letras ASCII y cifras, y empezar por una letra</translation>
    </message>
    <message>
      <source>may only contain ASCII letters, with single spaces (or underscores) between words</source>
      <translation>solo puede contener letras ASCII, con un solo espacio (o guion bajo) entre palabras</translation>
    </message>
    <message>
      <source>may only contain ASCII letters, digits and single hyphens</source>
      <translation>solo puede contener letras ASCII, cifras y guiones sueltos</translation>
    </message>
    <message>
      <source>black and white</source>
      <translation>blanco y negro</translation>
    </message>
    <message>
      <source>natural color</source>
      <translation>color natural</translation>
    </message>
    <message>
      <source>bucket {}</source>
      <translation>el bucket {}</translation>
    </message>
    <message>
      <source>authentication configuration {}</source>
      <translation>la configuración de autenticación {}</translation>
    </message>
    <message>
      <source>{} frames</source>
      <translation>{} fotogramas</translation>
    </message>
    <message>
      <source>{}; every frame's status is in {}</source>
      <translation>{}; el estado de cada fotograma está en {}</translation>
    </message>
    <message>
      <source>collection {} already exists as {} (s3 prefix {}, table {}); a collection has one band layout, so these {} frames cannot join it. Check the band layout chosen, or publish them as a collection of their own (another agency, year or type)</source>
      <translation>la colección {} ya existe en {} (prefijo S3 {}, tabla {}); una colección tiene una sola disposición de bandas, así que estos fotogramas en {} no pueden unirse a ella. Compruebe la disposición de bandas elegida o publíquelos como una colección propia (otra agencia, otro año u otro tipo)</translation>
    </message>
    <message>
      <source>mapfile not written: {} unreachable ({})</source>
      <translation>mapfile no escrito: {} inalcanzable ({})</translation>
    </message>
    <message>
      <source>{}: failed: {}</source>
      <translation>{}: falló: {}</translation>
    </message>
    <message>
      <source>connection {}: {}</source>
      <translation>conexión {}: {}</translation>
    </message>
    <message>
      <source>{} {} {}</source>
      <translation>{} {} {}</translation>
    </message>
    <message>
      <source>{} is not in the county list of {}: did you mean {}?</source>
      <translation>{} no está en la lista de condados de {}: ¿quiso decir {}?</translation>
    </message>
    <message>
      <source>Cannot connect to PostgreSQL ({}): {}</source>
      <translation>No se puede conectar a PostgreSQL ({}): {}</translation>
    </message>
    <message>
      <source>S3 at {} cannot be reached for {}: {}</source>
      <translation>S3 en {} no es alcanzable para {}: {}</translation>
    </message>
    <message>
      <source>PostgreSQL ({}) is unreachable: {}</source>
      <translation>PostgreSQL ({}) es inalcanzable: {}</translation>
    </message>
    <message>
      <source>{}: no STAC item: its date {} could be {} and the collection {} names no year to decide</source>
      <translation>{}: sin ítem STAC: su fecha {} podría ser de {} y la colección {} no nombra ningún año para decidir</translation>
    </message>
  </context>
  <context>
    <name>Ls4Plugin</name>
    <message>
      <source>LS4 panel</source>
      <translation>Panel LS4</translation>
    </message>
    <message>
      <source>LS4 settings…</source>
      <translation>Configuración de LS4…</translation>
    </message>
  </context>
  <context>
    <name>Ls4SettingsDialog</name>
    <message>
      <source>LS4 settings</source>
      <translation>Configuración de LS4</translation>
    </message>
    <message>
      <source>Test connections</source>
      <translation>Probar conexiones</translation>
    </message>
    <message>
      <source>Apply the public-read policy</source>
      <translation>Aplicar la política de lectura pública</translation>
    </message>
    <message>
      <source>Runs ls4:applypublicpolicy on the bucket of these settings: scanned/, georef/, cog/ and geojson/ become readable by anyone; everything else stays private</source>
      <translation>Ejecuta ls4:applypublicpolicy en el bucket de esta configuración: scanned/, georef/, cog/ y geojson/ pasan a ser legibles por cualquiera; todo lo demás sigue siendo privado</translation>
    </message>
    <message>
      <source>S3</source>
      <translation>S3</translation>
    </message>
    <message>
      <source>empty for AWS; e.g. https://s3.example.org</source>
      <translation>vacío para AWS; p. ej. https://s3.example.org</translation>
    </message>
    <message>
      <source>A Basic configuration: user name = access key id, password = secret key</source>
      <translation>Una configuración Básica: usuario = id de la clave de acceso, contraseña = clave secreta</translation>
    </message>
    <message>
      <source>Also send a public-read ACL (buckets that use ACLs)</source>
      <translation>Enviar también una ACL public-read (buckets que usan ACL)</translation>
    </message>
    <message>
      <source>e.g. https://data.example.org (optional)</source>
      <translation>p. ej. https://data.example.org (opcional)</translation>
    </message>
    <message>
      <source>Endpoint URL</source>
      <translation>URL del endpoint</translation>
    </message>
    <message>
      <source>Region</source>
      <translation>Región</translation>
    </message>
    <message>
      <source>Bucket</source>
      <translation>Bucket</translation>
    </message>
    <message>
      <source>Keys</source>
      <translation>Claves</translation>
    </message>
    <message>
      <source>Public URL base</source>
      <translation>Base de las URL públicas</translation>
    </message>
    <message>
      <source>PostgreSQL (tile index)</source>
      <translation>PostgreSQL (índice de teselas)</translation>
    </message>
    <message>
      <source>New PostGIS connection…</source>
      <translation>Nueva conexión PostGIS…</translation>
    </message>
    <message>
      <source>QGIS's own dialog for a new PostgreSQL connection</source>
      <translation>El diálogo de QGIS para una nueva conexión PostgreSQL</translation>
    </message>
    <message>
      <source>How MapServer connects: a PostgreSQL service name, never a password</source>
      <translation>Cómo se conecta MapServer: un nombre de servicio de PostgreSQL, nunca una contraseña</translation>
    </message>
    <message>
      <source>Connection</source>
      <translation>Conexión</translation>
    </message>
    <message>
      <source>MapServer connects with</source>
      <translation>MapServer se conecta con</translation>
    </message>
    <message>
      <source>MapServer</source>
      <translation>MapServer</translation>
    </message>
    <message>
      <source>Map folder (this machine serves the tiles)</source>
      <translation>Carpeta de mapas (este equipo sirve las teselas)</translation>
    </message>
    <message>
      <source>S3 bucket (publish from any machine)</source>
      <translation>Bucket de S3 (publicar desde cualquier equipo)</translation>
    </message>
    <message>
      <source>Where MapProxy keeps the collections' tiles; publishing a frame clears its tiles there. Choose the bucket when the tile server is another machine.</source>
      <translation>Dónde guarda MapProxy las teselas de las colecciones; publicar un fotograma borra allí sus teselas. Elija el bucket cuando el servidor de teselas es otro equipo.</translation>
    </message>
    <message>
      <source>WMS URL</source>
      <translation>URL del WMS</translation>
    </message>
    <message>
      <source>Map folder</source>
      <translation>Carpeta de mapas</translation>
    </message>
    <message>
      <source>Tile cache</source>
      <translation>Caché de teselas</translation>
    </message>
    <message>
      <source>Dask cluster</source>
      <translation>Clúster Dask</translation>
    </message>
    <message>
      <source>Publish collections on this Dask scheduler's workers; empty: on this machine</source>
      <translation>Publicar las colecciones en los trabajadores de este planificador Dask; vacío: en esta máquina</translation>
    </message>
    <message>
      <source>Scheduler</source>
      <translation>Planificador</translation>
    </message>
    <message>
      <source>The WMS URL must contain {collection} where the collection's name goes.</source>
      <translation>La URL del WMS debe contener {collection} donde va el nombre de la colección.</translation>
    </message>
    <message>
      <source>Testing S3, PostgreSQL and MapServer…</source>
      <translation>Probando S3, PostgreSQL y MapServer…</translation>
    </message>
    <message>
      <source>LS4: test connections</source>
      <translation>LS4: probar conexiones</translation>
    </message>
    <message>
      <source>All three work.</source>
      <translation>Los tres funcionan.</translation>
    </message>
    <message>
      <source>LS4: apply the public-read policy</source>
      <translation>LS4: aplicar la política de lectura pública</translation>
    </message>
    <message>
      <source>Save these settings (OK) and test again to apply the policy.</source>
      <translation>Guarde esta configuración (Aceptar) y vuelva a probar para aplicar la política.</translation>
    </message>
    <message>
      <source>This QGIS does not offer its PostgreSQL connection dialog.</source>
      <translation>Este QGIS no ofrece su diálogo de conexión PostgreSQL.</translation>
    </message>
    <message>
      <source>Failed: {}</source>
      <translation>Fallaron: {}</translation>
    </message>
    <message>
      <source>Public read: {}</source>
      <translation>Lectura pública: {}</translation>
    </message>
    <message>
      <source>Public read: the policy is applied to bucket {}.</source>
      <translation>Lectura pública: la política está aplicada al bucket {}.</translation>
    </message>
  </context>
</TS>
